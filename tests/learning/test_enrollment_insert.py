"""A person the LMS already knows: the enrollment's insert skips, in the statement, one a concurrent grant made
(``ON CONFLICT`` on the one-live-enrollment partial index); no savepoint, still one live enrollment."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integration.topics import Topic
from learning.models import Enrollment
from learning.services.enrollments import OpenRequest, enrollment_create_manual, enrollments_open_many
from tests.learning.factories import CourseFactory, LmsUserFactory, ProgramCourseFactory
from tests.learning.test_entitlements import _deliver, _item, _message

pytestmark = pytest.mark.django_db

# The live enrollments (1), each course's default instructor (1 each, the requests name bare courses), the
# course and the program inserts (2), the activation messages (1).
KNOWN_PERSON_BOUND = 6


def _live(user, course) -> list:
    return list(Enrollment.objects.filter(user=user, course=course, program=None,
                                          status__in=["pending", "active", "completed"]).values_list("pk", flat=True))


def _insert_neighbours(queries) -> list[tuple[str, str]]:
    """The statement before and after each enrollment insert."""
    sqls = [query["sql"] for query in queries.captured_queries]
    return [(sqls[i - 1], sqls[i + 1]) for i, sql in enumerate(sqls) if sql.startswith('INSERT INTO "learning_enrollment"')]


def test_a_known_person_s_enrollments_open_in_one_insert_per_kind_without_a_savepoint(
        django_assert_max_num_queries, outbox):
    user, owned, fresh = LmsUserFactory(), CourseFactory(), CourseFactory()
    program = ProgramCourseFactory().program
    enrollment_create_manual(user=user, course=owned, now=timezone.now())
    now = timezone.now()
    requests = [OpenRequest(source="commerce", granted_at=now, course=owned),
                OpenRequest(source="commerce", granted_at=now, course=fresh),
                OpenRequest(source="commerce", granted_at=now, program=program)]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries, \
            django_assert_max_num_queries(KNOWN_PERSON_BOUND):
        opened = enrollments_open_many(user=user, requests=requests, now=now)
    assert [o.outcome for o in opened] == ["already_enrolled", "granted", "granted"]
    assert not [q for q in queries.captured_queries if "SAVEPOINT" in q["sql"]]
    assert len(_insert_neighbours(queries)) == 2
    assert _live(user, owned) == [opened[0].enrollment.pk] and _live(user, fresh) == [opened[1].enrollment.pk]
    assert Enrollment.objects.get(user=user, program=program).pk == opened[2].enrollment.pk
    assert len(outbox(Topic.ENROLLMENT_LIFECYCLE)) == 3  # the manual one's, and the two opened now


def test_a_known_buyer_granted_the_same_course_twice_has_one_live_enrollment():
    LmsUserFactory(commerce_user_id="cu-1")
    course = CourseFactory()
    with CaptureQueriesContext(connection) as queries:
        first = _deliver(_message([_item(course, line="a")], order="ord-a"))
    second = _deliver(_message([_item(course, line="b")], order="ord-b"))
    assert [r["status"] for r in (first["results"][0], second["results"][0])] == ["granted", "already_enrolled"]
    assert first["results"][0]["enrollmentId"] == second["results"][0]["enrollmentId"]
    assert Enrollment.objects.filter(course=course).count() == 1
    # The delivery's own inbox keeps its savepoint; the enrollment's insert has none around it.
    assert [(before.split()[0], after.split()[0]) for before, after in _insert_neighbours(queries)] == [
        ("INSERT", "INSERT")]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_grant_for_a_known_buyer_while_another_is_uncommitted_waits_then_answers_already_enrolled():
    """The second grant read no live enrollment (the first was not committed), planned a new one, and its insert
    waited for the first to commit, then skipped it: the request is answered by the first's enrollment."""
    user, course = LmsUserFactory(commerce_user_id="cu-1"), CourseFactory()
    opened, done = threading.Event(), {}

    def first():
        try:
            with transaction.atomic():
                done["first"] = enrollment_create_manual(user=user, course=course, now=timezone.now())
                opened.set()
                time.sleep(0.5)
        finally:
            opened.set()
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert opened.wait(10)
        answer = _deliver(_message([_item(course, line="b")], order="ord-b"))
    finally:
        thread.join(10)
        connection.close()
    assert done["first"].outcome == "granted"
    assert answer["results"][0]["status"] == "already_enrolled"
    assert answer["results"][0]["enrollmentId"] == str(done["first"].enrollment.pk)
    assert _live(user, course) == [done["first"].enrollment.pk]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_known_buyers_granted_at_once_keep_one_live_enrollment_per_course():
    """Four orders at once for one known person, each for the shared course and one of its own, over a few
    rounds; and four manual openings at once (``enrollment_open``'s own insert)."""
    user = LmsUserFactory(commerce_user_id="cu-1")
    for round_ in range(4):
        shared, own = CourseFactory(), CourseFactory.create_batch(4)
        payloads = [_message([_item(shared, line=f"{round_}-{n}-s"), _item(own[n], line=f"{round_}-{n}-o")],
                             order=f"ord-{round_}-{n}") for n in range(4)]
        answers = _together([lambda payload=payload: _deliver(payload) for payload in payloads])
        assert not [a for a in answers if isinstance(a, Exception)], answers
        statuses = sorted(a["results"][0]["status"] for a in answers)
        assert statuses == ["already_enrolled"] * 3 + ["granted"], statuses
        (live,) = _live(user, shared)
        assert {a["results"][0]["enrollmentId"] for a in answers} == {str(live)}
        assert all(len(_live(user, course)) == 1 for course in own)
    course = CourseFactory()
    outcomes = _together([lambda: enrollment_create_manual(user=user, course=course, now=timezone.now()).outcome
                          for _ in range(4)])
    assert sorted(outcomes) == ["already_enrolled"] * 3 + ["granted"], outcomes
    assert len(_live(user, course)) == 1


def _together(functions) -> list:
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def run(index):
        try:
            connection.ensure_connection()
            barrier.wait()
            with transaction.atomic():
                results[index] = functions[index]()
        except Exception as error:  # asserted on by the test
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(functions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results
