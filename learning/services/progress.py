"""Progress: lessons done, exam attempts graded, completion by the course's rule, certificates.

A course is complete when every lesson is done and every exam has a passing attempt. Completion
marks the enrollments that gave access (the course's own and, once all its courses are done, the
program's), issues a certificate with a verification code, emails the learner and sends
``enrollment.lifecycle`` ``enrollment.completed`` to the revenue side.
"""

import secrets
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max

from integration.mail import send_templated_email
from learning import remote
from learning.errors import (
    AttemptLimitReached,
    AttemptNotAwaitingGrading,
    InvalidAnswers,
    LessonNotInCourse,
    NotEnrolled,
)
from learning.models import (
    AttemptStatus,
    Certificate,
    Course,
    CourseCompletion,
    CourseStaff,
    Enrollment,
    EnrollmentStatus,
    Exam,
    ExamAttempt,
    Lesson,
    LessonCompletion,
    LmsUser,
    ProgramCourse,
    QuestionKind,
)
from learning.permissions import Right, course_roles_with
from learning.services.enrollments import lifecycle_base
from learning.services.users import lms_user_mailable
from learning.web import lms_url

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def access_enrollment(*, user: LmsUser, course: Course) -> Enrollment | None:
    """The active (or completed) enrollment that opens ``course`` to ``user``: its own or a program's."""
    program_ids = ProgramCourse.objects.filter(course_id=course.pk).values("program_id")
    usable = [EnrollmentStatus.ACTIVE, EnrollmentStatus.COMPLETED]
    return (Enrollment.objects.filter(user=user, status__in=usable, course_id=course.pk).first()
            or Enrollment.objects.filter(user=user, status__in=usable, program_id__in=program_ids).first())


def _enrollment_opens(enrollment: Enrollment, course_id) -> bool:
    if enrollment.course_id:
        return enrollment.course_id == course_id
    return ProgramCourse.objects.filter(program_id=enrollment.program_id, course_id=course_id).exists()


@transaction.atomic
def lesson_complete(*, enrollment: Enrollment, lesson: Lesson, user: LmsUser, now: datetime) -> bool:
    """Marks the lesson done; answers whether the course was completed by it."""
    if enrollment.user_id != user.pk or enrollment.status not in (EnrollmentStatus.ACTIVE,
                                                                  EnrollmentStatus.COMPLETED):
        raise NotEnrolled()
    if not _enrollment_opens(enrollment, lesson.course_id):
        raise LessonNotInCourse(details={"lessonId": str(lesson.pk)})
    _, created = LessonCompletion.objects.get_or_create(user=user, lesson=lesson,
                                                        defaults={"course_id": lesson.course_id, "completed_at": now})
    if not created:
        return False
    return course_completion_check(user=user, course=lesson.course, now=now)


def _score(exam: Exam, answers: dict, points: dict) -> tuple[Decimal, bool]:
    questions = list(exam.questions.all())
    total = sum(q.points for q in questions) or 1
    got = sum(int(points.get(str(q.pk), 0)) for q in questions)
    score = (Decimal(got) * 100 / Decimal(total)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    return score, score >= exam.pass_mark


@transaction.atomic
def exam_attempt_submit(*, user: LmsUser, exam: Exam, answers: dict, now: datetime) -> ExamAttempt:
    """Grades the multiple-choice answers at once; short answers wait for an instructor."""
    enrollment = access_enrollment(user=user, course=exam.course)
    if enrollment is None:
        raise NotEnrolled()
    LmsUser.objects.select_for_update().filter(pk=user.pk).first()  # one attempt at a time per person
    used = ExamAttempt.objects.filter(exam=exam, user=user).aggregate(n=Max("number"))["n"] or 0
    if used >= exam.max_attempts:
        raise AttemptLimitReached(details={"maxAttempts": exam.max_attempts})
    questions = {str(q.pk): q for q in exam.questions.all()}
    answers = {str(key): value for key, value in (answers or {}).items()}
    unknown = set(answers) - set(questions)
    if unknown:
        raise InvalidAnswers(details={"unknownQuestions": sorted(unknown)})
    points, waiting = {}, False
    for qid, question in questions.items():
        answer = answers.get(qid)
        if question.kind == QuestionKind.MULTIPLE_CHOICE and question.select_all:
            # Several right answers: full points for exactly the right set, none otherwise.
            chosen = answer if isinstance(answer, list) else ([] if answer is None else [answer])
            if any(isinstance(index, bool) or not str(index).isdecimal() or not 0 <= int(index) < len(question.choices)
                   for index in chosen):
                raise InvalidAnswers(details={"question": qid, "reason": "choose among the choices by index"})
            picked = sorted({int(index) for index in chosen})
            if answer is not None:
                answers[qid] = picked
            points[qid] = question.points if picked == question.correct_indexes else 0
        elif question.kind == QuestionKind.MULTIPLE_CHOICE:
            if answer is not None and (isinstance(answer, bool) or not str(answer).lstrip("-").isdecimal()
                                       or not 0 <= int(answer) < len(question.choices)):
                raise InvalidAnswers(details={"question": qid, "reason": "choose one of the choices by index"})
            points[qid] = question.points if answer is not None and int(answer) == question.correct_choice else 0
        else:
            if answer is not None and (not isinstance(answer, str) or len(answer) > 10000):
                raise InvalidAnswers(details={"question": qid, "reason": "a short answer is text"})
            if answer and answer.strip():
                waiting = True
            else:
                points[qid] = 0
    attempt = ExamAttempt(exam=exam, user=user, number=used + 1, answers=answers, points=points, submitted_at=now,
                          status=AttemptStatus.AWAITING_GRADING if waiting else AttemptStatus.GRADED)
    if not waiting:
        attempt.score_percent, attempt.passed = _score(exam, answers, points)
        attempt.graded_at = now
    try:
        with transaction.atomic():
            attempt.save(force_insert=True)
    except IntegrityError:
        raise AttemptLimitReached(details={"maxAttempts": exam.max_attempts}) from None
    if waiting:
        _awaiting_grading_email(attempt, waiting=len(questions) - len(points))
    if attempt.passed:
        course_completion_check(user=user, course=exam.course, now=now)
    return attempt


def _awaiting_grading_email(attempt: ExamAttempt, *, waiting: int) -> None:
    """The course's instructors (the course staff roles holding the grading right the grading page asks,
    ``teaching:answers:grade``), told once per attempt, when it is inserted, that it waits for their points
    (after the commit; never to an inactive or erased person). One query."""
    exam = attempt.exam
    emails = sorted(set(CourseStaff.objects.filter(course_id=exam.course_id, role__in=course_roles_with(Right.GRADE),
                                                   user__is_active=True)
                        .exclude(user__email="").exclude(user__email__endswith="@invalid")
                        .values_list("user__email", flat=True)))
    context = {"learner": attempt.user.email, "exam": exam.title, "title": exam.course.title,
               "number": attempt.number, "waiting": waiting,
               "submitted_at": attempt.submitted_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
               "grading_url": lms_url("/lms/teach/grading/")}
    for email in emails:
        send_templated_email(to=email, template="lms_exam_awaiting_grading", context=context)


@transaction.atomic
def exam_attempt_grade(*, attempt: ExamAttempt, grader: LmsUser, points: dict, now: datetime) -> ExamAttempt:
    """An instructor's points for the short answers of an attempt; then the attempt is graded."""
    attempt = ExamAttempt.objects.select_for_update().select_related("exam__course", "user").get(pk=attempt.pk)
    if attempt.status != AttemptStatus.AWAITING_GRADING:
        raise AttemptNotAwaitingGrading()
    questions = {str(q.pk): q for q in attempt.exam.questions.all() if q.kind == QuestionKind.SHORT_ANSWER}
    awarded = dict(attempt.points)
    for qid, question in questions.items():
        if qid in awarded:
            continue
        value = points.get(qid)
        if value is None or not 0 <= int(value) <= question.points:
            raise InvalidAnswers(details={"question": qid, "reason": f"give 0 to {question.points} points"})
        awarded[qid] = int(value)
    attempt.points = awarded
    attempt.score_percent, attempt.passed = _score(attempt.exam, attempt.answers, awarded)
    attempt.status = AttemptStatus.GRADED
    attempt.graded_at, attempt.graded_by = now, grader
    attempt.save(update_fields=["points", "score_percent", "passed", "status", "graded_at", "graded_by"])
    _graded_email(attempt)
    if attempt.passed:
        course_completion_check(user=attempt.user, course=attempt.exam.course, now=now)
    return attempt


def _graded_email(attempt: ExamAttempt) -> None:
    """The learner waited for an instructor's grading: the result, after the commit."""
    user, exam = attempt.user, attempt.exam
    if not lms_user_mailable(user):
        return
    send_templated_email(to=user.email, template="lms_exam_graded", context={
        "exam": exam.title, "title": exam.course.title, "score": f"{attempt.score_percent:.0f}",
        "passed": bool(attempt.passed), "pass_mark": exam.pass_mark,
        "attempts_left": max(0, exam.max_attempts - attempt.number),
        "course_url": lms_url(f"/lms/courses/{exam.course_id}/")})


def course_rule_met(*, user: LmsUser, course: Course) -> tuple[bool, Decimal | None]:
    """All lessons done and every exam passed; with the grade (mean of the best exam scores)."""
    lessons = Lesson.objects.filter(course=course).count()
    done = LessonCompletion.objects.filter(user=user, course=course).count()
    if done < lessons:
        return False, None
    exams = list(Exam.objects.filter(course=course).values_list("pk", flat=True))
    best = dict(ExamAttempt.objects.filter(user=user, exam_id__in=exams, passed=True).values("exam_id")
                .annotate(best=Max("score_percent")).values_list("exam_id", "best"))
    if len(best) < len(exams):
        return False, None
    if lessons == 0 and not exams:
        return False, None
    grade = (sum(best.values()) / len(best)).quantize(Decimal("0.01")) if best else None
    return True, grade


def _code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def certificate_issue(*, enrollment: Enrollment, grade: Decimal | None, now: datetime) -> Certificate:
    existing = Certificate.objects.filter(enrollment=enrollment).first()
    if existing:
        return existing
    offering = enrollment.offering
    certificate = Certificate.objects.create(
        code=_code(), user=enrollment.user, course=enrollment.course, program=enrollment.program,
        enrollment=enrollment, title=offering.title, holder_email=enrollment.user.email, grade=grade, issued_at=now)
    if enrollment.user.is_active:
        send_templated_email(to=enrollment.user.email, template="lms_certificate_issued", context={
            "title": offering.title, "code": certificate.code,
            "certificate_url": lms_url(f"/certificates/{certificate.code}/"),
            "pdf_url": lms_url(f"/certificates/{certificate.code}/pdf/")})
    return certificate


def _creator(course_id) -> LmsUser | None:
    staff = (CourseStaff.objects.filter(course_id=course_id, role="content-creator").select_related("user")
             .order_by("assigned_at").first())
    return staff.user if staff else None


def enrollment_complete(*, enrollment: Enrollment, grade: Decimal | None, now: datetime) -> Certificate:
    """Marks a live enrollment completed, issues its certificate and tells the revenue side."""
    from learning.selectors import interaction_status

    enrollment.status = EnrollmentStatus.COMPLETED
    enrollment.completed_at = now
    enrollment.updated_at = now
    enrollment.save(update_fields=["status", "completed_at", "updated_at"])
    certificate = certificate_issue(enrollment=enrollment, grade=grade, now=now)
    course_id = enrollment.course_id
    payload = {**lifecycle_base(enrollment), "userId": enrollment.user.commerce_user_id or str(enrollment.user_id),
               "completedAt": now, "certificateCode": certificate.code,
               "interactionMet": interaction_status(enrollment=enrollment).eligible}
    if grade is not None:
        payload["grade"] = grade
    if enrollment.instructor_id:
        payload["instructorId"] = str(enrollment.instructor_id)
        if enrollment.instructor.commerce_user_id:
            payload["instructorCommerceUserId"] = enrollment.instructor.commerce_user_id
    creator = _creator(course_id) if course_id else None
    if creator is not None:
        payload["contentCreatorId"] = str(creator.pk)
        if creator.commerce_user_id:
            payload["contentCreatorCommerceUserId"] = creator.commerce_user_id
    remote.enrollment_lifecycle_send(event="enrollment.completed", payload=payload)
    return certificate


def course_completion_check(*, user: LmsUser, course: Course, now: datetime) -> bool:
    """Applies the completion rule after progress; answers whether the course became complete now."""
    met, grade = course_rule_met(user=user, course=course)
    if not met:
        return False
    _, created = CourseCompletion.objects.get_or_create(user=user, course=course,
                                                                 defaults={"completed_at": now, "grade": grade})
    if not created:
        return False
    for enrollment in (Enrollment.objects.select_for_update(of=("self",))
                       .select_related("user", "course", "program", "instructor")
                       .filter(user=user, course=course, status=EnrollmentStatus.ACTIVE)):
        enrollment_complete(enrollment=enrollment, grade=grade, now=now)
    program_ids = ProgramCourse.objects.filter(course=course).values("program_id")
    for enrollment in (Enrollment.objects.select_for_update(of=("self",))
                       .select_related("user", "course", "program", "instructor")
                       .filter(user=user, program_id__in=program_ids, status=EnrollmentStatus.ACTIVE)):
        course_ids = set(ProgramCourse.objects.filter(program_id=enrollment.program_id)
                         .values_list("course_id", flat=True))
        done = set(CourseCompletion.objects.filter(user=user, course_id__in=course_ids)
                   .values_list("course_id", flat=True))
        if course_ids <= done:
            enrollment_complete(enrollment=enrollment, grade=None, now=now)
    return True
