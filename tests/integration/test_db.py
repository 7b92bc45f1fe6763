"""``insert_ignore``: one INSERT … ON CONFLICT DO NOTHING that says which rows it wrote (its target a unique
index, or a partial one from a ``UniqueConstraint`` with a condition); ``update_together``."""

import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integration.db import RowUpdate, insert_ignore, unique_constraint, update_together
from integration.models import Heartbeat, InboxEntry

pytestmark = pytest.mark.django_db


def _row(key: str, now) -> dict:
    return {"idempotency_key": key, "topic": "entitlement", "body_sha256": "0" * 64,
            "state": InboxEntry.State.DONE, "response": {"ok": True}, "status_code": 200, "created_at": now,
            "completed_at": now, "lease_expires_at": now}


def test_it_returns_what_it_wrote_and_skips_what_exists_in_one_statement():
    now = timezone.now()
    first = InboxEntry.objects.create(**_row("k-1", now))
    with CaptureQueriesContext(connection) as queries:
        written = insert_ignore(InboxEntry, [_row("k-1", now), _row("k-2", now)], conflict=["idempotency_key"],
                                returning=["pk", "idempotency_key"])
    assert [key for _, key in written] == ["k-2"]
    assert InboxEntry.objects.get(idempotency_key="k-2").pk == written[0][0]
    assert InboxEntry.objects.get(pk=first.pk).created_at == now
    assert not any("SAVEPOINT" in query["sql"] for query in queries.captured_queries)
    assert len([q for q in queries.captured_queries if q["sql"].startswith("INSERT")]) == 1


def test_a_row_written_twice_in_one_call_is_written_once_or_refused():
    now = timezone.now()
    assert insert_ignore(InboxEntry, [], conflict=["idempotency_key"]) == []
    assert len(insert_ignore(InboxEntry, [_row("k-3", now)], conflict=["idempotency_key"])) == 1
    assert insert_ignore(InboxEntry, [_row("k-3", now)], conflict=["idempotency_key"]) == []
    with pytest.raises(ValueError):
        insert_ignore(InboxEntry, [_row("k-4", now), {"idempotency_key": "k-5"}], conflict=["idempotency_key"])


def test_update_together_makes_each_update_and_is_one_statement_on_postgresql():
    now = timezone.now()
    insert_ignore(InboxEntry, [_row("k-6", now), _row("k-7", now)], conflict=["idempotency_key"])
    heartbeat = Heartbeat.objects.create(name="job", beat_at=now)
    later = now + timedelta(minutes=1)
    with CaptureQueriesContext(connection) as queries:
        update_together((InboxEntry.objects.filter(idempotency_key="k-6"), {"response": {"answer": 1},
                                                                            "status_code": 201}),
                        (Heartbeat.objects.filter(name="job"), {"beat_at": later}))
    assert len(queries.captured_queries) == (1 if connection.vendor == "postgresql" else 2)
    assert list(InboxEntry.objects.values_list("idempotency_key", "response", "status_code").order_by("pk")) == [
        ("k-6", {"answer": 1}, 201), ("k-7", {"ok": True}, 200)]
    heartbeat.refresh_from_db()
    assert heartbeat.beat_at == later


def test_a_row_update_writes_its_row_only_while_its_conditions_hold_and_joins_an_update_together():
    now = timezone.now()
    (first, _), (second, _) = sorted(insert_ignore(InboxEntry, [_row("k-8", now), _row("k-9", now)],
                                                   conflict=["idempotency_key"], returning=["pk", "idempotency_key"]))
    Heartbeat.objects.create(name="job", beat_at=now)
    later = now + timedelta(minutes=1)
    with CaptureQueriesContext(connection) as queries:
        update_together(RowUpdate(InboxEntry, first, {"response": None, "status_code": 204}),
                        RowUpdate(InboxEntry, second, {"status_code": 500}, where={"topic": "another"}),
                        (Heartbeat.objects.filter(name="job"), {"beat_at": later}))
    assert len(queries.captured_queries) == (1 if connection.vendor == "postgresql" else 3)
    assert list(InboxEntry.objects.values_list("idempotency_key", "response", "status_code").order_by("pk")) == [
        ("k-8", None, 204), ("k-9", {"ok": True}, 200)]
    assert Heartbeat.objects.get(name="job").beat_at == later
    update_together(RowUpdate(InboxEntry, second, {"status_code": 201}, where={"topic": "entitlement"}))
    assert InboxEntry.objects.get(pk=second).status_code == 201
    with pytest.raises(ValueError):
        RowUpdate(InboxEntry, second, {"status_code": 201}, where={"topic": None}).as_sql(connection.alias)


def _enrollment_row(user, course, *, status="active", pk=None) -> dict:
    from learning.models import Enrollment

    now = timezone.now()
    enrollment = Enrollment(id=pk or uuid.uuid4(), user=user, course=course, source="manual", status=status,
                            granted_at=now, created_at=now, updated_at=now)
    return {field.name: getattr(enrollment, field.attname) for field in Enrollment._meta.concrete_fields}


def _one_live_per_course():
    from learning.models import Enrollment

    return unique_constraint(Enrollment, "learning_enrollment_one_live_per_course")


def test_a_partial_unique_constraint_is_the_target_and_only_a_conflict_on_its_index_is_skipped():
    """``ON CONFLICT (user, course) WHERE <the index's condition> DO NOTHING``: the partial index is inferred
    as the arbiter (PostgreSQL, and SQLite since 3.24); a row outside its condition is written beside a live
    one, and a conflict on another unique index is not skipped."""
    from learning.models import Enrollment
    from tests.learning.factories import CourseFactory, LmsUserFactory

    user, course = LmsUserFactory(), CourseFactory()
    first = _enrollment_row(user, course)
    with CaptureQueriesContext(connection) as queries:
        written = insert_ignore(Enrollment, [first], conflict=_one_live_per_course())
    assert [Enrollment._meta.pk.to_python(pk) for (pk,) in written] == [first["id"]]
    (insert,) = queries.captured_queries
    assert " WHERE " in insert["sql"].split("ON CONFLICT")[1] and "SAVEPOINT" not in insert["sql"]

    with CaptureQueriesContext(connection) as queries:
        assert insert_ignore(Enrollment, [_enrollment_row(user, course, status="pending")],
                             conflict=_one_live_per_course()) == []
    assert len(queries.captured_queries) == 1  # skipped in the statement: no savepoint, no error
    revoked = _enrollment_row(user, course, status="revoked")  # outside the index's condition: no conflict
    assert len(insert_ignore(Enrollment, [revoked], conflict=_one_live_per_course())) == 1
    assert sorted(Enrollment.objects.filter(user=user).values_list("status", flat=True)) == ["active", "revoked"]
    with pytest.raises(IntegrityError), transaction.atomic():  # the primary key is not the target
        insert_ignore(Enrollment, [_enrollment_row(user, course, status="expired", pk=first["id"])],
                      conflict=_one_live_per_course())
    # The field-name form still targets a plain unique index (its SQL cached apart from the constraint's).
    assert insert_ignore(InboxEntry, [_row("k-10", timezone.now())], conflict=["idempotency_key"]) != []


def test_the_target_must_be_one_of_the_model_s_own_unique_constraints():
    from learning.models import Enrollment

    with pytest.raises(ValueError, match="no unique constraint"):
        unique_constraint(Enrollment, "learning_enrollment_course_xor_program")  # a CheckConstraint
    with pytest.raises(ValueError, match="InboxEntry has no unique constraint"):
        insert_ignore(InboxEntry, [_row("k-11", timezone.now())], conflict=_one_live_per_course())
    assert not InboxEntry.objects.filter(idempotency_key="k-11").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_inserts_on_a_partial_unique_index_at_once_write_one_row_and_the_other_waits_then_skips():
    from learning.models import Enrollment
    from tests.learning.factories import CourseFactory, LmsUserFactory

    user, course = LmsUserFactory(), CourseFactory()
    rows = [_enrollment_row(user, course) for _ in range(2)]
    first_inserted, outcomes = threading.Event(), {}

    def first():
        try:
            with transaction.atomic():
                outcomes["first"] = insert_ignore(Enrollment, [rows[0]], conflict=_one_live_per_course())
                first_inserted.set()
                time.sleep(0.3)  # still uncommitted while the second inserts
        finally:
            first_inserted.set()
            connection.close()

    def second():
        try:
            first_inserted.wait(5)
            with transaction.atomic():
                started = time.monotonic()
                outcomes["second"] = insert_ignore(Enrollment, [rows[1]], conflict=_one_live_per_course())
                outcomes["waited"] = time.monotonic() - started
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(outcomes["first"]) == 1 and outcomes["second"] == []
    assert outcomes["waited"] >= 0.2  # it waited for the first to commit, then wrote nothing
    assert list(Enrollment.objects.values_list("id", flat=True)) == [rows[0]["id"]]
