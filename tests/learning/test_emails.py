"""LMS emails for staff: being put on a course's staff, and a department role, each a text and an HTML part in
the site's look, sent once the change commits (never for a repeat, nor to an inactive or erased person)."""

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.utils import timezone

from learning.services.catalog import class_create, course_staff_assign
from learning.services.memberships import membership_grant
from tests.learning.factories import CourseFactory, LmsUserFactory, department

pytestmark = pytest.mark.django_db


def html_of(message) -> str:
    return next(content for content, mimetype in message.alternatives if mimetype == "text/html")


def test_an_instructor_put_on_a_course_is_told_once_after_the_commit(django_capture_on_commit_callbacks):
    course = CourseFactory(title="Data science")
    teacher = LmsUserFactory(email="teacher@example.com")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        course_staff_assign(course=course, user=teacher, role="instructor", now=timezone.now())
        assert mail.outbox == []  # nothing before the commit
    assert len(callbacks) == 1
    (message,) = mail.outbox
    assert message.to == ["teacher@example.com"]
    assert message.subject == "You are now an instructor of Data science"
    link = f"/lms/teach/courses/{course.pk}/"
    assert link in message.body and "grade their exams" in message.body
    html = html_of(message)
    assert link in html and "<strong>Data science</strong>" in html and settings.SITE_NAME in html

    with django_capture_on_commit_callbacks(execute=True):
        course_staff_assign(course=course, user=teacher, role="instructor", now=timezone.now())
    assert len(mail.outbox) == 1  # already on the staff: no second email

    with django_capture_on_commit_callbacks(execute=True):
        course_staff_assign(course=course, user=teacher, role="content-creator", now=timezone.now())
    assert mail.outbox[-1].subject == "You are now a content creator of Data science"


def test_a_class_with_an_instructor_tells_the_instructor(django_capture_on_commit_callbacks):
    course = CourseFactory(title="Evening Python")
    teacher = LmsUserFactory(email="evening@example.com")
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        class_create(course=course, title="Spring", starts_at=now, ends_at=now + timezone.timedelta(days=30),
                     capacity=10, instructor=teacher, publish=False, now=now)
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["evening@example.com"], "You are now an instructor of Evening Python")]


def test_a_rolled_back_assignment_sends_nothing():
    course = CourseFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        course_staff_assign(course=course, user=LmsUserFactory(), role="instructor", now=timezone.now())
        raise RuntimeError("the caller fails after the assignment")
    assert mail.outbox == []


@pytest.mark.parametrize("email, active", [("gone@example.com", False), ("erased-1@invalid", True)])
def test_nobody_inactive_or_erased_is_written_to(django_capture_on_commit_callbacks, email, active):
    person = LmsUserFactory(email=email, is_active=active)
    with django_capture_on_commit_callbacks(execute=True):
        course_staff_assign(course=CourseFactory(), user=person, role="instructor", now=timezone.now())
        membership_grant(user=person, department=department("Arts"), role="instructor", granted_by=None,
                         now=timezone.now())
    assert mail.outbox == []


def test_a_department_role_is_a_notice_with_what_it_allows(django_capture_on_commit_callbacks):
    school = department("School of Technology")
    person = LmsUserFactory(email="head@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        membership_grant(user=person, department=school, role="department-admin", granted_by=None, now=timezone.now())
        membership_grant(user=person, department=school, role="department-admin", granted_by=None, now=timezone.now())
    (message,) = mail.outbox  # the repeat changed nothing and says nothing
    assert message.to == ["head@example.com"]
    assert message.subject == "You are now a department admin in School of Technology"
    assert "enrollment approvals" in message.body and "/lms/admin/" in message.body
    html = html_of(message)
    assert "<strong>School of Technology</strong>" in html and "every role change is recorded" in html


@pytest.mark.parametrize("points, passed, subject", [
    (2, True, "You passed Final exam: 100%"), (0, False, "Your Final exam result: 0%")])
def test_a_learner_waiting_for_a_grade_is_emailed_the_result(django_capture_on_commit_callbacks, points, passed,
                                                             subject):
    from learning.services.progress import exam_attempt_grade, exam_attempt_submit
    from tests.learning.factories import EnrollmentFactory, ExamFactory, QuestionFactory

    course = CourseFactory(title="Django in depth")
    exam = ExamFactory(course=course, title="Final exam", max_attempts=3, pass_mark=50)
    choice = QuestionFactory(exam=exam, position=1)
    short = QuestionFactory(exam=exam, position=2, kind="short_answer", choices=[], correct_choice=None, points=2)
    enrollment = EnrollmentFactory(course=course, user=LmsUserFactory(email="student@example.com"))
    with django_capture_on_commit_callbacks(execute=True):
        attempt = exam_attempt_submit(user=enrollment.user, exam=exam, now=timezone.now(),
                                      answers={str(choice.pk): 1 if passed else 0, str(short.pk): "Because."})
    assert not [m for m in mail.outbox if "exam" in m.subject.lower()]  # nothing graded yet: nothing said
    with django_capture_on_commit_callbacks(execute=True):
        exam_attempt_grade(attempt=attempt, grader=LmsUserFactory(), points={str(short.pk): points},
                           now=timezone.now())
    (graded,) = [m for m in mail.outbox if "Final exam" in m.subject]
    assert graded.to == ["student@example.com"] and graded.subject == subject
    assert f"/lms/courses/{course.pk}/" in graded.body and "Django in depth" in html_of(graded)
    assert ("2 attempts left" in graded.body) is not passed
