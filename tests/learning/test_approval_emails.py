"""Emails to the staff who must act: an enrollment waiting for approval tells exactly the people who may approve
it (the department admins of its department and of those above it, and the global admins), once per enrollment;
an exam attempt waiting for grading tells the course's instructors, once per attempt. After the commit only."""

import uuid

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from learning.models import CourseStaff, Enrollment, Membership
from learning.permissions import Right, access_check
from learning.services.enrollments import enrollment_create_manual
from learning.services.progress import exam_attempt_grade, exam_attempt_submit
from learning.web import lms_url
from tests.learning.conftest import lms_login
from tests.learning.factories import (
    CourseFactory,
    CourseStaffFactory,
    EnrollmentFactory,
    ExamFactory,
    LmsUserFactory,
    MembershipFactory,
    ProgramFactory,
    QuestionFactory,
    department,
)
from tests.learning.test_emails import html_of
from tests.learning.test_entitlements import _deliver, _item, _message

pytestmark = pytest.mark.django_db

APPROVAL_SUBJECT = "buyer@example.com waits for your approval in {}"


def staff(email: str, **fields):
    return LmsUserFactory(email=email, user_types=["staff"], **fields)


@pytest.fixture
def tree():
    """A university, its faculty, the faculty's school (the course's department) and a sibling school, with
    people in every role around them: who may approve and who may not."""
    university = department("University")
    faculty = department("Faculty", university)
    school = department("School", faculty)
    sibling = department("Sibling school", faculty)
    course = CourseFactory(title="Ethics & Law", department=school, requires_approval=True)
    people = {
        "root-admin": ("department-admin", university), "faculty-admin": ("department-admin", faculty),
        "school-admin": ("department-admin", school), "sibling-admin": ("department-admin", sibling),
        "school-instructor": ("instructor", school), "content-admin": ("content-admin", university),
        "billing-admin": ("billing-admin", university)}
    users = {}
    for name, (role, where) in people.items():
        users[name] = staff(f"{name}@example.com")
        MembershipFactory(user=users[name], department=where, role=role)
    users["inactive-admin"] = staff("inactive-admin@example.com", is_active=False)
    MembershipFactory(user=users["inactive-admin"], department=school, role="department-admin")
    users["erased-admin"] = staff(f"erased-{uuid.uuid4()}@invalid")
    MembershipFactory(user=users["erased-admin"], department=university, role="department-admin")
    users["global"] = LmsUserFactory(email="global@example.com", user_types=["learner", "global-admin"])
    users["inactive-global"] = LmsUserFactory(email="old-global@example.com", user_types=["global-admin"],
                                              is_active=False)
    users["course-instructor"] = staff("course-instructor@example.com")
    CourseStaffFactory(course=course, user=users["course-instructor"], role="instructor")
    users["creator"] = staff("creator@example.com")
    CourseStaffFactory(course=course, user=users["creator"], role="content-creator")
    users["learner"] = LmsUserFactory(email="someone@example.com")
    return course, users


APPROVERS = ["faculty-admin@example.com", "global@example.com", "root-admin@example.com",
             "school-admin@example.com"]


def approval_mail():
    return [message for message in mail.outbox if "waits for your approval" in message.subject]


def test_a_purchase_waiting_for_approval_tells_exactly_who_may_approve_it(tree, django_capture_on_commit_callbacks):
    course, users = tree
    with django_capture_on_commit_callbacks(execute=True):
        answer = _deliver(_message([_item(course)]))
        assert mail.outbox == []  # nothing before the commit
    assert answer["results"][0]["status"] == "pending_approval"
    sent = approval_mail()
    assert sorted(address for message in sent for address in message.to) == APPROVERS
    assert all(len(message.to) == 1 for message in sent)  # one email each: nobody sees the others' addresses
    # Exactly the people the approval permission lets act (those reachable by email).
    may_approve = sorted(user.email for user in users.values()
                         if access_check(user=user, right=Right.ENROLLMENT_MANAGE, course=course)
                         and not user.email.endswith("@invalid"))
    assert may_approve == APPROVERS

    message = sent[0]
    assert message.subject == APPROVAL_SUBJECT.format("Ethics & Law")
    enrollment = Enrollment.objects.get()
    assert "buyer@example.com bought the course Ethics & Law on 2026-01-05 10:00 UTC (order ord-1)" in message.body
    link = lms_url("/lms/admin/approvals/?q=buyer%40example.com")
    assert link in message.body and f'href="{link}"' in html_of(message)
    assert "<strong>Ethics &amp; Law</strong>" in html_of(message)
    assert enrollment.status == "pending"
    # The learner has their own email (waiting for approval); nobody else heard of it.
    learner_mail = [m for m in mail.outbox if m not in sent]
    assert [m.to for m in learner_mail] == [["buyer@example.com"]]


def test_the_link_opens_the_queue_where_each_recipient_can_approve(tree, client, django_capture_on_commit_callbacks):
    course, users = tree
    with django_capture_on_commit_callbacks(execute=True):
        _deliver(_message([_item(course)]))
    enrollment = Enrollment.objects.get()
    by_email = {user.email: user for user in users.values()}
    for email in APPROVERS:
        lms_login(client, by_email[email])
        page = client.get("/lms/admin/approvals/?q=buyer%40example.com")
        assert page.status_code == 200 and str(enrollment.pk) in page.content.decode()
    for name in ("sibling-admin", "school-instructor", "course-instructor", "creator"):
        lms_login(client, users[name])
        assert str(enrollment.pk) not in client.get("/lms/admin/approvals/?q=buyer%40example.com").content.decode()


def test_a_grant_delivered_twice_tells_the_approvers_once(tree, django_capture_on_commit_callbacks):
    course, _ = tree
    message = _message([_item(course)])
    with django_capture_on_commit_callbacks(execute=True):
        _deliver(message)
    with django_capture_on_commit_callbacks(execute=True):
        _deliver(message)  # the same message again
    with django_capture_on_commit_callbacks(execute=True):
        again = _deliver(_message([_item(course)]))  # the same order line under a new idempotency key
    assert again["results"][0]["status"] == "pending_approval"
    assert len(approval_mail()) == len(APPROVERS)


def test_an_enrollment_already_pending_tells_nobody_again(tree, django_capture_on_commit_callbacks):
    course, users = tree
    with django_capture_on_commit_callbacks(execute=True):
        opened = enrollment_create_manual(user=users["learner"], course=course, now=timezone.now())
    assert opened.outcome == "pending_approval"
    sent = approval_mail()
    assert sorted(m.to[0] for m in sent) == APPROVERS
    assert sent[0].subject == "someone@example.com waits for your approval in Ethics & Law"
    assert "someone@example.com asked to join the course Ethics & Law on " in sent[0].body
    assert "(order" not in sent[0].body
    with django_capture_on_commit_callbacks(execute=True):
        again = enrollment_create_manual(user=users["learner"], course=course, now=timezone.now())
    assert again.outcome == "already_enrolled"
    assert len(approval_mail()) == len(APPROVERS)


def test_a_grant_after_its_revoke_tells_nobody(tree, django_capture_on_commit_callbacks):
    course, _ = tree
    with django_capture_on_commit_callbacks(execute=True):
        _deliver(_message([_item(course)], event="entitlement.revoked"))
        late = _deliver(_message([_item(course)]))
    assert late["results"][0]["status"] == "failed"
    assert mail.outbox == []


def test_a_rolled_back_grant_tells_nobody(tree):
    course, users = tree
    with pytest.raises(RuntimeError), transaction.atomic():
        enrollment_create_manual(user=users["learner"], course=course, now=timezone.now())
        raise RuntimeError("the caller fails after the enrollment")
    assert not Enrollment.objects.exists()
    assert mail.outbox == []


def test_a_class_and_a_program_tell_their_departments_admins(django_capture_on_commit_callbacks):
    from learning.services.catalog import class_create

    arts, science = department("Arts"), department("Science")
    arts_admin, science_admin = staff("arts@example.com"), staff("science@example.com")
    MembershipFactory(user=arts_admin, department=arts)
    MembershipFactory(user=science_admin, department=science)
    now = timezone.now()
    course = CourseFactory(title="Painting", department=arts, requires_approval=True)
    course_class = class_create(course=course, title="Spring", starts_at=now, ends_at=now + timezone.timedelta(days=9),
                                capacity=5, instructor=None, publish=True, now=now)
    program = ProgramFactory(title="Physics track", department=science, requires_approval=True)
    learner = LmsUserFactory(email="buyer@example.com", commerce_user_id="cu-1")
    with django_capture_on_commit_callbacks(execute=True):
        answer = _deliver(_message([_item(course_class, product_type="class", line="a"),
                                    _item(program, product_type="program", line="b")]))
    assert [r["status"] for r in answer["results"]] == ["pending_approval", "pending_approval"]
    assert sorted((m.to[0], m.subject) for m in approval_mail()) == [
        ("arts@example.com", APPROVAL_SUBJECT.format("Painting")),
        ("science@example.com", APPROVAL_SUBJECT.format("Physics track"))]
    assert "the program Physics track" in next(m.body for m in approval_mail() if m.to == ["science@example.com"])
    assert Enrollment.objects.filter(user=learner, status="pending").count() == 2


def test_a_course_without_approval_never_asks_who_approves():
    course = CourseFactory()
    MembershipFactory(department=course.department)
    with CaptureQueriesContext(connection) as queries:
        answer = _deliver(_message([_item(course)]))
    assert answer["results"][0]["status"] == "granted"
    membership_table = Membership._meta.db_table
    assert not [q["sql"] for q in queries.captured_queries if membership_table in q["sql"]]


def test_the_approvers_are_one_query_for_many_courses_waiting(django_assert_max_num_queries):
    from learning.services.enrollments import _approvers

    top = department("Top")
    low = [department(f"Low {n}", top) for n in range(3)]
    courses = [CourseFactory(department=where, requires_approval=True) for where in low]
    admins = [staff(f"low{n}@example.com") for n in range(3)]
    for admin, where in zip(admins, low, strict=True):
        MembershipFactory(user=admin, department=where)
    MembershipFactory(user=staff("top@example.com"), department=top)
    learner = LmsUserFactory()
    enrollments = [EnrollmentFactory(user=learner, course=course, status="pending") for course in courses]
    with django_assert_max_num_queries(1):
        found = _approvers(enrollments)
    assert found == {("course", course.pk): [f"low{n}@example.com", "top@example.com"]
                     for n, course in enumerate(courses)}



@pytest.mark.skipif(connection.vendor != "postgresql", reason="the global admins' partial index is PostgreSQL's")
def test_the_global_admins_are_read_through_their_partial_index_not_a_scan_of_every_user():
    """At 100,000 LMS users the look-up scanned them all (20-28 ms); the index (migration 0006) holds the admins
    only, and the planner takes it when the statement carries its predicate."""
    from learning.services.enrollments import _approvers

    course = CourseFactory(department=department("Anywhere"), requires_approval=True)
    LmsUserFactory(email="global@example.com", user_types=["global-admin"])
    LmsUserFactory(email="learner@example.com", user_types=["learner"])
    enrollment = EnrollmentFactory(user=LmsUserFactory(), course=course, status="pending")
    with CaptureQueriesContext(connection) as captured:
        assert _approvers([enrollment]) == {("course", course.pk): ["global@example.com"]}
    (statement,) = [query["sql"] for query in captured.captured_queries]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table: ask whether the index can serve it
        cursor.execute("EXPLAIN " + statement)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "learning_lmsuser_global_admins" in plan, plan

# --- attempts waiting for grading -------------------------------------------------------------------------------

def _exam_with_a_short_answer(course):
    exam = ExamFactory(course=course, title="Essay exam", max_attempts=3)
    mc = QuestionFactory(exam=exam, position=1)
    short = QuestionFactory(exam=exam, position=2, kind="short_answer", choices=[], correct_choice=None, points=2)
    return exam, mc, short


def test_an_attempt_waiting_for_grading_tells_the_course_s_instructors(django_capture_on_commit_callbacks):
    school = department("School")
    course = CourseFactory(title="Philosophy", department=school)
    instructors = [staff("teacher@example.com"), staff("second@example.com")]
    for person in instructors:
        CourseStaffFactory(course=course, user=person, role="instructor")
    CourseStaffFactory(course=course, user=staff("creator@example.com"), role="content-creator")
    CourseStaffFactory(course=course, user=staff("left@example.com", is_active=False), role="instructor")
    CourseStaffFactory(course=CourseFactory(), user=staff("elsewhere@example.com"), role="instructor")
    exam, mc, short = _exam_with_a_short_answer(course)
    enrollment = EnrollmentFactory(course=course, user=LmsUserFactory(email="student@example.com"))
    with django_capture_on_commit_callbacks(execute=True):
        attempt = exam_attempt_submit(user=enrollment.user, exam=exam,
                                      answers={str(mc.pk): 1, str(short.pk): "Because."}, now=timezone.now())
        assert mail.outbox == []
    assert attempt.status == "awaiting_grading"
    assert sorted(m.to[0] for m in mail.outbox) == ["second@example.com", "teacher@example.com"]
    # Those the grading page lets grade as the course's staff.
    assert all(access_check(user=person, right=Right.GRADE, course=course) for person in instructors)
    message = mail.outbox[0]
    assert message.subject == "student@example.com's answers to Essay exam wait for grading"
    assert "submitted attempt 1 at Essay exam (Philosophy)" in message.body
    assert "1 short answer needs an instructor's points" in message.body
    link = lms_url("/lms/teach/grading/")
    assert link.startswith("http") and link in message.body and f'href="{link}"' in html_of(message)

    # Grading it tells the learner only; a second attempt is a second note.
    with django_capture_on_commit_callbacks(execute=True):
        exam_attempt_grade(attempt=attempt, grader=instructors[0], points={str(short.pk): 2}, now=timezone.now())
    assert {tuple(m.to) for m in mail.outbox[2:]} == {("student@example.com",)}  # graded; its certificate
    with django_capture_on_commit_callbacks(execute=True):
        exam_attempt_submit(user=enrollment.user, exam=exam, answers={str(short.pk): "Again."}, now=timezone.now())
    assert len([m for m in mail.outbox if "wait for grading" in m.subject]) == 4


def test_an_attempt_graded_at_once_or_rolled_back_tells_no_instructor(django_capture_on_commit_callbacks):
    course = CourseFactory()
    CourseStaffFactory(course=course, user=staff("teacher@example.com"), role="instructor")
    exam, mc, short = _exam_with_a_short_answer(course)
    enrollment = EnrollmentFactory(course=course)
    with django_capture_on_commit_callbacks(execute=True):  # the short answer left blank: nothing to grade
        attempt = exam_attempt_submit(user=enrollment.user, exam=exam, answers={str(mc.pk): 1}, now=timezone.now())
    assert attempt.status == "graded"
    with pytest.raises(RuntimeError), transaction.atomic():
        exam_attempt_submit(user=enrollment.user, exam=exam, answers={str(short.pk): "Text"}, now=timezone.now())
        raise RuntimeError("the caller fails after the submission")
    assert [m for m in mail.outbox if "wait for grading" in m.subject] == []


def test_the_instructors_note_costs_one_query(django_capture_on_commit_callbacks):
    course = CourseFactory()
    CourseStaffFactory(course=course, role="instructor")
    exam, mc, short = _exam_with_a_short_answer(course)
    enrollment = EnrollmentFactory(course=course)
    exam = type(exam).objects.select_related("course").get(pk=exam.pk)

    def staff_queries(answers) -> int:
        with CaptureQueriesContext(connection) as queries:
            exam_attempt_submit(user=enrollment.user, exam=exam, answers=answers, now=timezone.now())
        return sum(CourseStaff._meta.db_table in query["sql"] for query in queries.captured_queries)

    assert staff_queries({str(mc.pk): 0}) == 0  # graded at once: nobody to tell
    assert staff_queries({str(mc.pk): 0, str(short.pk): "Text"}) == 1
