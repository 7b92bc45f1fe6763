"""Progress, the completion rule, certificates (code, page, PDF, email), interactions, personal data and erasure."""

import pytest
from django.core import mail
from django.utils import timezone

from integration.ports.learning import learning_port
from integration.topics import Topic
from learning.errors import AttemptLimitReached, InvalidAnswers, LessonNotInCourse, NotEnrolled
from learning.models import Certificate, ExamAttempt, LessonCompletion
from learning.selectors import interaction_status
from learning.services.interactions import interaction_record
from learning.services.progress import exam_attempt_grade, exam_attempt_submit, lesson_complete
from learning.services.users import lms_user_erase
from tests.learning.factories import (
    CourseFactory,
    EnrollmentFactory,
    ExamFactory,
    LessonFactory,
    LmsUserFactory,
    ProgramCourseFactory,
    QuestionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def course():
    course = CourseFactory()
    LessonFactory(course=course, position=1)
    LessonFactory(course=course, position=2)
    exam = ExamFactory(course=course, max_attempts=2, pass_mark=50)
    QuestionFactory(exam=exam, position=1)
    QuestionFactory(exam=exam, position=2, kind="short_answer", choices=[], correct_choice=None, points=2)
    return course


def _lessons_done(enrollment, course):
    for lesson in course.lessons.all():
        lesson_complete(enrollment=enrollment, lesson=lesson, user=enrollment.user, now=timezone.now())


def test_completion_issues_the_certificate_and_sends_enrollment_completed(course, outbox,
                                                                          django_capture_on_commit_callbacks):
    instructor = LmsUserFactory(commerce_user_id="c-inst")
    enrollment = EnrollmentFactory(course=course, instructor=instructor, commerce_order_id="ord-1",
                                   commerce_order_item_id="line-1")
    exam = course.exams.get()
    mc, short = exam.questions.order_by("position")
    with django_capture_on_commit_callbacks(execute=True):
        _lessons_done(enrollment, course)
        attempt = exam_attempt_submit(user=enrollment.user, exam=exam,
                                      answers={str(mc.pk): 1, str(short.pk): "A migration records a change."},
                                      now=timezone.now())
        assert attempt.status == "awaiting_grading" and attempt.passed is None
        enrollment.refresh_from_db()
        assert enrollment.status == "active"  # the short answer still waits
        graded = exam_attempt_grade(attempt=attempt, grader=instructor, points={str(short.pk): 1},
                                    now=timezone.now())
    assert graded.passed and str(graded.score_percent) == "66.67"
    enrollment.refresh_from_db()
    assert enrollment.status == "completed"
    certificate = Certificate.objects.get(enrollment=enrollment)
    assert len(certificate.code) == 14 and certificate.title == course.title
    [completed] = [m for m in outbox(Topic.ENROLLMENT_LIFECYCLE) if m["event"] == "enrollment.completed"]
    payload = completed["payload"]
    assert payload["enrollmentId"] == str(enrollment.pk) and payload["orderItemId"] == "line-1"
    assert payload["instructorCommerceUserId"] == "c-inst" and payload["interactionMet"] is False
    assert payload["certificateCode"] == certificate.code and payload["grade"] == "66.67"
    assert any("certificate" in m.subject.lower() for m in mail.outbox)


def test_a_lesson_of_another_course_and_a_stranger_are_refused(course):
    enrollment = EnrollmentFactory(course=course)
    with pytest.raises(LessonNotInCourse):
        lesson_complete(enrollment=enrollment, lesson=LessonFactory(), user=enrollment.user, now=timezone.now())
    with pytest.raises(NotEnrolled):
        lesson_complete(enrollment=enrollment, lesson=course.lessons.first(), user=LmsUserFactory(),
                        now=timezone.now())
    with pytest.raises(NotEnrolled):
        exam_attempt_submit(user=LmsUserFactory(), exam=course.exams.get(), answers={}, now=timezone.now())
    assert not LessonCompletion.objects.exists()


def test_attempts_stop_at_the_limit_and_bad_answers_write_nothing(course):
    enrollment = EnrollmentFactory(course=course)
    exam = course.exams.get()
    mc = exam.questions.get(position=1)
    with pytest.raises(InvalidAnswers):
        exam_attempt_submit(user=enrollment.user, exam=exam, answers={str(mc.pk): 7}, now=timezone.now())
    with pytest.raises(InvalidAnswers):
        exam_attempt_submit(user=enrollment.user, exam=exam, answers={"not-a-question": 1}, now=timezone.now())
    for _ in range(2):
        attempt = exam_attempt_submit(user=enrollment.user, exam=exam, answers={str(mc.pk): 0}, now=timezone.now())
        assert attempt.status == "graded" and attempt.passed is False
    with pytest.raises(AttemptLimitReached):
        exam_attempt_submit(user=enrollment.user, exam=exam, answers={str(mc.pk): 1}, now=timezone.now())
    assert ExamAttempt.objects.count() == 2


def test_a_program_completes_when_all_its_courses_do(outbox):
    first = ProgramCourseFactory(position=1)
    second = ProgramCourseFactory(program=first.program, position=2)
    for link in (first, second):
        LessonFactory(course=link.course)
    enrollment = EnrollmentFactory(course=None, program=first.program)
    lesson_complete(enrollment=enrollment, lesson=first.course.lessons.get(), user=enrollment.user,
                    now=timezone.now())
    enrollment.refresh_from_db()
    assert enrollment.status == "active"
    lesson_complete(enrollment=enrollment, lesson=second.course.lessons.get(), user=enrollment.user,
                    now=timezone.now())
    enrollment.refresh_from_db()
    assert enrollment.status == "completed" and Certificate.objects.filter(program=first.program).exists()


def test_the_interaction_requirement_is_computed_in_one_selector(outbox):
    course = CourseFactory(required_discussion_replies=2)
    instructor = LmsUserFactory(commerce_user_id="c-teacher")
    enrollment = EnrollmentFactory(course=course, instructor=instructor)
    assert interaction_status(enrollment=enrollment).eligible is False
    interaction_record(enrollment=enrollment, kind="discussion_reply", recorded_by=instructor, now=timezone.now())
    assert interaction_status(enrollment=enrollment).actual.discussion_replies == 1
    assert not interaction_status(enrollment=enrollment).eligible
    interaction_record(enrollment=enrollment, kind="discussion_reply", recorded_by=instructor, now=timezone.now())
    interaction_record(enrollment=enrollment, kind="live_session_minutes", quantity=30, recorded_by=instructor,
                       now=timezone.now())
    status = learning_port().interaction_status(enrollment_id=str(enrollment.pk))
    assert status.eligible and status.required.discussion_replies == 2 and status.actual.live_session_minutes == 30
    assert status.instructor_commerce_user_id == "c-teacher"
    met = [m for m in outbox(Topic.ENROLLMENT_LIFECYCLE) if m["event"] == "enrollment.interaction_met"]
    assert len(met) == 1  # once, when it became met


def test_manual_verification_and_a_course_without_minimums():
    plain = EnrollmentFactory(instructor=LmsUserFactory())
    assert not interaction_status(enrollment=plain).eligible
    interaction_record(enrollment=plain, kind="assignment_graded", recorded_by=plain.instructor, now=timezone.now())
    assert interaction_status(enrollment=plain).eligible  # 002: any one interaction
    strict = EnrollmentFactory(course=CourseFactory(requires_manual_verification=True), instructor=LmsUserFactory())
    interaction_record(enrollment=strict, kind="discussion_reply", quantity=5, recorded_by=strict.instructor,
                       now=timezone.now())
    assert not interaction_status(enrollment=strict).eligible
    admin = LmsUserFactory(user_types=["staff", "global-admin"])
    interaction_record(enrollment=strict, kind="manual_verification", recorded_by=admin, now=timezone.now())
    status = interaction_status(enrollment=strict)
    assert status.eligible and status.verified_by == str(admin.pk)
    unassigned = EnrollmentFactory()
    interaction_record(enrollment=unassigned, kind="manual_verification", recorded_by=admin, now=timezone.now())
    assert not interaction_status(enrollment=unassigned).eligible  # nobody to pay: no instructor assigned


def test_personal_data_and_erasure_of_progress(course):
    enrollment = EnrollmentFactory(course=course, user=LmsUserFactory(commerce_user_id="c-me", email="me@example.com"))
    lesson_complete(enrollment=enrollment, lesson=course.lessons.first(), user=enrollment.user, now=timezone.now())
    exam = course.exams.get()
    exam_attempt_submit(user=enrollment.user, exam=exam, answers={str(exam.questions.get(position=2).pk): "secret"},
                        now=timezone.now())
    data = learning_port().personal_data(commerce_user_id="c-me")
    assert data.exists and data.email == "me@example.com" and data.lessons_completed == 1
    assert data.enrollments[0].lessons_done == 1 and data.enrollments[0].lessons_total == 2
    assert data.exam_attempts[0].exam_title == exam.title
    assert learning_port().personal_data(commerce_user_id="c-unknown").exists is False
    lms_user_erase(commerce_user_id="c-me")
    assert not LessonCompletion.objects.exists()
    assert ExamAttempt.objects.get().answers == {}
    assert learning_port().personal_data(commerce_user_id="c-me").email.endswith("@invalid")


def test_course_get_names_the_staff_with_their_commerce_ids(course):
    from tests.learning.factories import CourseStaffFactory

    CourseStaffFactory(course=course, user=LmsUserFactory(commerce_user_id="c-cr", user_types=["staff"]),
                       role="content-creator")
    info = learning_port().course_get(external_id=str(course.pk))
    assert info.title == course.title and info.department_name == course.department.name
    assert [(s.commerce_user_id, s.role) for s in info.staff] == [("c-cr", "content-creator")]


def test_re_importing_an_old_legacy_file_does_not_recreate_an_erased_person():
    from learning.models import ErasedEmail, LmsUser
    from learning.services.legacy import ImportOutcome, legacy_account_import

    outcome = legacy_account_import(email="old@example.com", password_hash="bcrypt$$2b$04$" + "a" * 53,
                                    user_types=["learner"], source_created_at=None, now=timezone.now())
    assert outcome == ImportOutcome.CREATED
    user = LmsUser.objects.get(email="old@example.com")
    LmsUser.objects.filter(pk=user.pk).update(commerce_user_id="c-old")
    lms_user_erase(commerce_user_id="c-old")
    assert ErasedEmail.objects.count() == 1  # remembered as a hash only
    assert not ErasedEmail.objects.filter(email_sha256__contains="old").exists()
    again = legacy_account_import(email="Old@Example.com", password_hash="bcrypt$$2b$04$" + "a" * 53,
                                  user_types=["learner"], source_created_at=None, now=timezone.now())
    assert again == ImportOutcome.ERASED
    assert not LmsUser.objects.filter(email__iexact="old@example.com").exists()
