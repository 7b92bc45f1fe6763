"""The entitlement receiver (spec 6.2.2): per-item answers, idempotent by the order line, in any order."""

import threading
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from integration.contracts import encode_json
from integration.receiving import message_receive
from integration.registry import Delivery
from integration.topics import Topic
from learning.models import CourseClass, Enrollment, EntitlementLine, LmsUser
from tests.integration.conftest import signed_post
from tests.learning.factories import CourseFactory, CourseStaffFactory, LmsUserFactory, ProgramCourseFactory

pytestmark = pytest.mark.django_db


def _item(product, *, product_type="course", line="oi-1", amount="199.00"):
    return {"productType": product_type, "externalId": str(getattr(product, "pk", product)),
            "grantedAt": "2026-01-05T10:00:00Z", "orderItemId": line,
            "metadata": {"orderId": "ord-1", "transactionId": "pi_1", "amount": amount, "currency": "USD"}}


def _message(items, *, event="entitlement.granted", key=None, order="ord-1", user="cu-1"):
    return {"event": event, "idempotencyKey": key or str(uuid.uuid4()), "orderId": order, "commerceUserId": user,
            "email": "buyer@example.com", "items": items}


def _deliver(payload):
    result = message_receive(topic=Topic.ENTITLEMENT, payload=encode_json_roundtrip(payload),
                             delivery=Delivery(idempotency_key=payload["idempotencyKey"], source_service="commerce"))
    return result.body


def encode_json_roundtrip(payload):
    import json

    return json.loads(encode_json(payload))


def test_a_grant_creates_the_lms_user_and_the_enrollment(outbox):
    course = CourseFactory()
    answer = _deliver(_message([_item(course)]))
    user = LmsUser.objects.get(commerce_user_id="cu-1")
    enrollment = Enrollment.objects.get()
    assert answer == {"success": True, "lmsUserId": str(user.pk), "results": [
        {"externalId": str(course.pk), "status": "granted", "enrollmentId": str(enrollment.pk), "orderItemId": "oi-1"}]}
    assert (enrollment.user, enrollment.source, enrollment.status) == (user, "commerce", "active")
    assert (enrollment.commerce_order_id, enrollment.commerce_order_item_id) == ("ord-1", "oi-1")
    assert str(enrollment.amount) == "199.0000" and enrollment.currency == "USD"
    [activated] = outbox(Topic.ENROLLMENT_LIFECYCLE)
    assert activated["event"] == "enrollment.activated"
    assert activated["payload"]["orderItemId"] == "oi-1" and activated["payload"]["amount"] == "199.00"


def test_the_same_order_line_under_a_new_inbox_key_enrolls_once():
    course = CourseFactory()
    first = _deliver(_message([_item(course)]))
    second = _deliver(_message([_item(course)]))  # a new idempotency key: only the order line says "seen"
    assert Enrollment.objects.count() == 1 and EntitlementLine.objects.count() == 1
    assert second["results"] == first["results"]


def test_a_second_order_for_what_one_has_answers_already_enrolled():
    course = CourseFactory()
    _deliver(_message([_item(course)]))
    answer = _deliver(_message([_item(course, line="oi-2")], order="ord-2"))
    assert answer["results"][0]["status"] == "already_enrolled"
    assert answer["results"][0]["enrollmentId"] == str(Enrollment.objects.get().pk)


def test_a_course_that_needs_approval_answers_pending_approval():
    course = CourseFactory(requires_approval=True)
    answer = _deliver(_message([_item(course)]))
    assert answer["results"][0]["status"] == "pending_approval"
    assert Enrollment.objects.get().status == "pending"


def test_bad_items_fail_one_by_one_and_write_nothing_for_them():
    good, archived = CourseFactory(), CourseFactory(status="archived")
    full = CourseClass.objects.create(course=good, title="Evening", starts_at=timezone.now(),
                                      ends_at=timezone.now() + timezone.timedelta(days=30), capacity=1,
                                      status="published")
    LmsUserFactory()  # someone else takes the one seat
    from learning.services.enrollments import enrollment_create_manual

    enrollment_create_manual(user=LmsUserFactory(), course_class=full, now=timezone.now())
    answer = _deliver(_message([
        _item(uuid.uuid4(), line="a"), _item("not-a-uuid", line="b"), _item(archived, line="c"),
        _item(full, product_type="class", line="d"), _item(good, line="e")]))
    assert [(r["status"], r.get("error")) for r in answer["results"]] == [
        ("failed", "unknown_product"), ("failed", "unknown_product"), ("failed", "archived"),
        ("failed", "class_full"), ("granted", None)]
    assert answer["success"] is False
    assert EntitlementLine.objects.count() == 1


def test_a_revoke_revokes_and_tells_revenue(outbox):
    course = CourseFactory()
    _deliver(_message([_item(course)]))
    answer = _deliver(_message([_item(course)], event="entitlement.revoked"))
    assert answer["results"][0]["status"] == "revoked"
    enrollment = Enrollment.objects.get()
    assert enrollment.status == "revoked" and enrollment.status_reason == "refund"
    revoked = outbox(Topic.ENROLLMENT_LIFECYCLE)[-1]
    assert revoked["event"] == "enrollment.revoked"
    assert revoked["payload"]["reason"] == "refund" and revoked["payload"]["refundAmount"] == "199.00"


def test_a_revoke_before_its_grant_then_the_grant_enrolls_nobody():
    course = CourseFactory()
    revoke = _deliver(_message([_item(course)], event="entitlement.revoked"))
    assert revoke["results"][0]["status"] == "revoked"  # a line never granted answers as done
    grant = _deliver(_message([_item(course)]))
    assert grant["results"][0] == {"externalId": str(course.pk), "status": "failed", "error": "revoked",
                                   "orderItemId": "oi-1"}
    assert not Enrollment.objects.exists()
    assert EntitlementLine.objects.get().state == "revoked"


def test_a_revoke_of_a_line_answered_already_enrolled_leaves_the_earlier_enrollment():
    course = CourseFactory()
    _deliver(_message([_item(course)]))
    _deliver(_message([_item(course, line="oi-2")], order="ord-2"))
    _deliver(_message([_item(course, line="oi-2")], order="ord-2", event="entitlement.revoked"))
    assert Enrollment.objects.get().status == "active"


def test_a_program_enrollment_opens_its_courses():
    link = ProgramCourseFactory()
    _deliver(_message([_item(link.program, product_type="program")]))
    from learning.services.progress import access_enrollment

    user = LmsUser.objects.get(commerce_user_id="cu-1")
    assert access_enrollment(user=user, course=link.course).program_id == link.program_id


# The grant's queries do not grow with the items. Counted on SQLite, for a buyer the LMS has not seen: the
# inbox entry and its savepoints, its answer (6); the user's insert (1); the products (one query per product
# type, each with its default instructor), the lines' claim carrying their planned enrollments, the
# enrollments' insert, the lifecycle messages' insert (4). The same bound holds for 1 item and for 20.
GRANT_QUERY_BOUND = 11
# A buyer already known: the user's read and its email's refresh (2), the live enrollments (1), the
# enrollments' insert, no savepoint, one per kind (the programs' is one more, 1); a refused item's line look-up
# (1); programs are one more query (1); the course that needs approval, who may approve it (its department
# path, the department admins above it and the global admins in one UNION, 1; none for a course that needs none).
KNOWN_BUYER_MIXED_BOUND = GRANT_QUERY_BOUND + 7


@pytest.mark.parametrize("count", [1, 20])
def test_a_grant_costs_the_same_bounded_queries_for_1_or_20_items(count, django_assert_max_num_queries, outbox):
    courses = CourseFactory.create_batch(count)
    for course in courses:
        CourseStaffFactory(course=course, role="instructor")
    items = [_item(course, line=f"line-{n}") for n, course in enumerate(courses)]
    with django_assert_max_num_queries(GRANT_QUERY_BOUND):
        answer = _deliver(_message(items))
    assert [r["status"] for r in answer["results"]] == ["granted"] * count
    assert Enrollment.objects.filter(instructor__isnull=False).count() == count
    assert len(outbox(Topic.ENROLLMENT_LIFECYCLE)) == count


def test_a_mixed_order_of_20_is_answered_per_item_within_the_same_bound(django_assert_max_num_queries):
    from learning.services.enrollments import enrollment_create_manual

    owned, needs_approval, *fresh = CourseFactory.create_batch(20)
    needs_approval.requires_approval = True
    needs_approval.save()
    program = ProgramCourseFactory().program
    user = LmsUserFactory(commerce_user_id="cu-1")
    enrollment_create_manual(user=user, course=owned, now=timezone.now())
    items = ([_item(owned, line="owned"), _item(needs_approval, line="approval"),
              _item(program, product_type="program", line="program"), _item(uuid.uuid4(), line="unknown")]
             + [_item(course, line=f"fresh-{n}") for n, course in enumerate(fresh[:16])])
    items.append(dict(items[-1]))  # the same line twice in one message answers the same
    with django_assert_max_num_queries(KNOWN_BUYER_MIXED_BOUND):
        answer = _deliver(_message(items))
    statuses = [(r["status"], r.get("error")) for r in answer["results"]]
    assert statuses[:4] == [("already_enrolled", None), ("pending_approval", None), ("granted", None),
                            ("failed", "unknown_product")]
    assert statuses[4:] == [("granted", None)] * 17
    assert answer["results"][-1] == answer["results"][-2]
    assert EntitlementLine.objects.count() == 19
    line = EntitlementLine.objects.get(line_key="item:owned")
    assert line.created_enrollment is False and line.result_status == "already_enrolled"


def test_the_signed_webhook_answers_the_same():
    course = CourseFactory()
    from django.test import Client

    body = encode_json(_message([_item(course)], key="wh-1"))
    response = signed_post(Client(), "/api/v2/webhooks/commerce/entitlement", body, key="wh-1", source="commerce")
    assert response.status_code == 200, response.content
    assert response.json()["results"][0]["status"] == "granted"
    again = signed_post(Client(), "/api/v2/webhooks/commerce/entitlement", body, key="wh-1", source="commerce")
    assert again.json() == response.json() and Enrollment.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_grant_delivered_twice_at_once_enrolls_once():
    course = CourseFactory()
    payloads = [_message([_item(course)]) for _ in range(2)]  # two inbox keys, one order line
    answers, errors = [], []
    barrier = threading.Barrier(2)

    def deliver(payload):
        try:
            barrier.wait()
            answers.append(_deliver(payload))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(payload,)) for payload in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert Enrollment.objects.count() == 1 and EntitlementLine.objects.count() == 1
    ids = {answer["results"][0]["enrollmentId"] for answer in answers}
    assert ids == {str(Enrollment.objects.get().pk)}


def _at_once(payloads):
    answers, errors = [], []
    barrier = threading.Barrier(len(payloads))

    def deliver(payload):
        try:
            barrier.wait()
            answers.append(_deliver(payload))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(payload,)) for payload in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return answers


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_order_of_20_delivered_twice_at_once_enrolls_each_once():
    courses = CourseFactory.create_batch(20)
    items = [_item(course, line=f"line-{n}") for n, course in enumerate(courses)]
    answers = _at_once([_message(items), _message(items)])  # two inbox keys, the same 20 order lines
    assert Enrollment.objects.count() == 20 and EntitlementLine.objects.count() == 20
    first, second = ([r["enrollmentId"] for r in answer["results"]] for answer in answers)
    assert first == second
    assert {r["status"] for answer in answers for r in answer["results"]} == {"granted"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_orders_for_the_same_course_at_once_enroll_the_person_once():
    """Different order lines, one person and course: one insert loses on the one-live-enrollment index and
    takes the one-by-one path, answering already_enrolled."""
    course, other = CourseFactory(), CourseFactory()
    answers = _at_once([_message([_item(course, line="a-1"), _item(other, line="a-2")], order="ord-a"),
                        _message([_item(course, line="b-1")], order="ord-b")])
    assert Enrollment.objects.filter(course=course).count() == 1
    assert Enrollment.objects.filter(course=other).count() == 1
    statuses = sorted(r["status"] for answer in answers for r in answer["results"] if r["externalId"] == str(course.pk))
    assert statuses == ["already_enrolled", "granted"]
    assert EntitlementLine.objects.count() == 3


def test_an_enrollment_opened_meanwhile_sends_the_batch_one_by_one(monkeypatch, outbox):
    """The batch insert loses on the one-live-enrollment index (a concurrent grant, simulated between the
    live-enrollment read and the insert): that item is skipped and takes the one-by-one path, the other is
    inserted by the batch; nothing is lost or doubled."""
    from learning.services import enrollments

    taken, free = CourseFactory(), CourseFactory()
    user = LmsUserFactory(commerce_user_id="cu-1")
    real = enrollments._live_enrollments

    def meanwhile(**kwargs):
        live = real(**kwargs)
        Enrollment.objects.create(user=user, course=taken, source="manual", status="active",
                                  granted_at=timezone.now())
        return live

    monkeypatch.setattr(enrollments, "_live_enrollments", meanwhile)
    answer = _deliver(_message([_item(taken, line="t"), _item(free, line="f")]))
    assert [r["status"] for r in answer["results"]] == ["already_enrolled", "granted"]
    assert Enrollment.objects.filter(course=taken).count() == 1 and Enrollment.objects.filter(course=free).count() == 1
    assert [m["payload"]["courseId"] for m in outbox(Topic.ENROLLMENT_LIFECYCLE)] == [str(free.pk)]
    assert EntitlementLine.objects.get(line_key="item:t").created_enrollment is False


def test_the_same_course_twice_when_the_first_line_was_revoked_enrolls_by_the_second():
    """The plan made the first line's enrollment, the second answering already_enrolled by it; the first
    line is not ours (revoked before its grant), so the second opens the enrollment, and its line says so."""
    course = CourseFactory()
    _deliver(_message([_item(course, line="a")], event="entitlement.revoked"))
    answer = _deliver(_message([_item(course, line="a"), _item(course, line="b")]))
    enrollment = Enrollment.objects.get()
    assert answer["results"] == [
        {"externalId": str(course.pk), "status": "failed", "error": "revoked", "orderItemId": "a"},
        {"externalId": str(course.pk), "status": "granted", "enrollmentId": str(enrollment.pk), "orderItemId": "b"}]
    line = EntitlementLine.objects.get(line_key="item:b")
    assert (line.enrollment_id, line.created_enrollment, line.result_status) == (enrollment.pk, True, "granted")
    assert EntitlementLine.objects.get(line_key="item:a").enrollment_id is None


def test_an_enrollment_opened_meanwhile_for_a_course_asked_twice_points_both_lines_at_it(monkeypatch):
    """Both lines were claimed naming the batch's enrollment; the insert loses, so neither may keep it."""
    from learning.services import enrollments

    course = CourseFactory()
    user = LmsUserFactory(commerce_user_id="cu-1")
    real = enrollments._live_enrollments

    def meanwhile(**kwargs):
        live = real(**kwargs)
        Enrollment.objects.create(user=user, course=course, source="manual", status="active",
                                  granted_at=timezone.now())
        return live

    monkeypatch.setattr(enrollments, "_live_enrollments", meanwhile)
    answer = _deliver(_message([_item(course, line="x"), _item(course, line="y")]))
    existing = Enrollment.objects.get()
    assert [(r["status"], r["enrollmentId"]) for r in answer["results"]] == [("already_enrolled", str(existing.pk))] * 2
    assert {(line.enrollment_id, line.created_enrollment, line.result_status)
            for line in EntitlementLine.objects.all()} == {(existing.pk, False, "already_enrolled")}


def test_the_instructor_assigned_is_the_class_s_else_the_course_s_earliest(outbox):
    now = timezone.now()
    course, other = CourseFactory(), CourseFactory()
    later = CourseStaffFactory(course=course, assigned_at=now, user=LmsUserFactory(commerce_user_id="c-later"))
    earliest = CourseStaffFactory(course=course, assigned_at=now - timezone.timedelta(days=3),
                                  user=LmsUserFactory(commerce_user_id="c-earliest"))
    CourseStaffFactory(course=course, role="content-creator", assigned_at=now - timezone.timedelta(days=9))
    teacher = LmsUserFactory(commerce_user_id="c-teacher")
    taught = CourseClass.objects.create(course=other, title="Taught", starts_at=now, ends_at=now + timezone.timedelta(days=9),
                                        capacity=5, status="published", instructor=teacher)
    third = CourseFactory()
    CourseStaffFactory(course=third, user=LmsUserFactory(commerce_user_id="c-third"))
    untaught = CourseClass.objects.create(course=third, title="Untaught", starts_at=now,
                                          ends_at=now + timezone.timedelta(days=9), capacity=5, status="published")
    nobody = CourseFactory()
    CourseStaffFactory(course=nobody, role="content-creator")
    answer = _deliver(_message([_item(course, line="c"), _item(taught, product_type="class", line="k"),
                                _item(untaught, product_type="class", line="u"), _item(nobody, line="n")]))
    assert [r["status"] for r in answer["results"]] == ["granted"] * 4
    assert Enrollment.objects.get(course=course).instructor == earliest.user != later.user
    assert Enrollment.objects.get(course=nobody, course_class=None).instructor is None
    assert Enrollment.objects.get(course_class=taught).instructor == teacher
    assert Enrollment.objects.get(course_class=untaught).instructor.commerce_user_id == "c-third"
    sent = {m["payload"]["externalId"]: m["payload"].get("instructorCommerceUserId")
            for m in outbox(Topic.ENROLLMENT_LIFECYCLE)}
    assert sent == {str(course.pk): "c-earliest", str(taught.pk): "c-teacher", str(untaught.pk): "c-third",
                    str(nobody.pk): None}
