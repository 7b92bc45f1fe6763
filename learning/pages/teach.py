"""The instructor area (``/lms/teach/``): my classes and learners, interactions, grading, content editing."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from integration.errors import ApplicationError
from learning import selectors
from learning.filters import EnrollmentFilter
from learning.models import (
    AttemptStatus,
    Course,
    CourseClass,
    Enrollment,
    ExamAttempt,
    InteractionKind,
    Lesson,
    QuestionKind,
)
from learning.pages import lms_login_required, page_of, render_lms
from learning.pages.forms import (
    CourseRequirementForm,
    CourseStaffForm,
    InteractionForm,
    LessonForm,
    OfferingForm,
)
from learning.permissions import Right, access_check, courses_where
from learning.services import catalog as catalog_services
from learning.services.interactions import interaction_record
from learning.services.memberships import lms_user_for_email
from learning.services.progress import exam_attempt_grade


def _forbidden(request):
    return render_lms(request, "learning/forbidden.html", status=403)


@require_GET
@lms_login_required
def teach_home(request):
    user = request.lms_user
    courses = courses_where(user=user, right=Right.INTERACTION_RECORD).order_by("title")
    enrollments = (Enrollment.objects.filter(course__in=courses)
                   .select_related("user", "course__department", "instructor", "course_class").order_by("-granted_at"))
    filtered = EnrollmentFilter(request.GET, queryset=enrollments, courses=courses)
    page, query = page_of(request, filtered.qs)
    rows = [(enrollment, selectors.interaction_status(enrollment=enrollment)) for enrollment in page]
    classes = CourseClass.objects.filter(instructor=user).select_related("course").order_by("starts_at")
    waiting = ExamAttempt.objects.filter(status=AttemptStatus.AWAITING_GRADING,
                                         exam__course__in=courses_where(user=user, right=Right.GRADE)).count()
    editable = courses_where(user=user, right=Right.COURSE_MANAGE).order_by("title")
    # The exam builder, for the courses whose exams this person may build (the first 50 by title).
    exam_courses = (courses_where(user=user, right=Right.EXAM_MANAGE).order_by("title")
                    .prefetch_related("exams")[:50])
    return render_lms(request, "learning/teach/home.html", {
        "filter": filtered, "page": page, "query": query, "rows": rows, "classes": classes, "waiting": waiting,
        "editable": editable, "exam_courses": exam_courses, "interaction_form": InteractionForm()})


@require_POST
@lms_login_required
def interaction_add(request, enrollment_id):
    enrollment = get_object_or_404(Enrollment.objects.select_related("course__department"), pk=enrollment_id,
                                   course__isnull=False)
    form = InteractionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a kind and a quantity of at least 1.")
        return redirect("lms-teach")
    kind = form.cleaned_data["kind"]
    right = Right.INTERACTION_VERIFY if kind == InteractionKind.MANUAL_VERIFICATION else Right.INTERACTION_RECORD
    if not access_check(user=request.lms_user, right=right, course=enrollment.course):
        return _forbidden(request)
    interaction_record(enrollment=enrollment, kind=kind, quantity=form.cleaned_data["quantity"],
                       note=form.cleaned_data["note"], recorded_by=request.lms_user,
                       instructor=None if kind == InteractionKind.MANUAL_VERIFICATION else request.lms_user,
                       now=timezone.now())
    messages.success(request, f"Recorded for {enrollment.user.email}.")
    return redirect(request.POST.get("next") if str(request.POST.get("next", "")).startswith("/lms/") else "lms-teach")


@require_GET
@lms_login_required
def grading_queue(request):
    courses = courses_where(user=request.lms_user, right=Right.GRADE)
    attempts = (ExamAttempt.objects.filter(status=AttemptStatus.AWAITING_GRADING, exam__course__in=courses)
                .select_related("exam__course", "user").prefetch_related("exam__questions").order_by("submitted_at"))
    page, query = page_of(request, attempts, size=10)
    items = []
    for attempt in page:
        questions = [(q, attempt.answers.get(str(q.pk), "")) for q in attempt.exam.questions.all()
                     if q.kind == QuestionKind.SHORT_ANSWER and str(q.pk) not in attempt.points]
        items.append((attempt, questions))
    return render_lms(request, "learning/teach/grading.html", {"page": page, "query": query, "items": items})


@require_POST
@lms_login_required
def attempt_grade(request, attempt_id):
    attempt = get_object_or_404(ExamAttempt.objects.select_related("exam__course__department"), pk=attempt_id)
    if not access_check(user=request.lms_user, right=Right.GRADE, course=attempt.exam.course):
        return _forbidden(request)
    points = {key.removeprefix("p-"): value for key, value in request.POST.items() if key.startswith("p-")}
    try:
        points = {key: int(value) for key, value in points.items()}
        attempt = exam_attempt_grade(attempt=attempt, grader=request.lms_user, points=points, now=timezone.now())
    except (ValueError, ApplicationError) as exc:
        messages.error(request, getattr(exc, "message", "Give whole points for every answer."))
    else:
        messages.success(request, f"Graded: {attempt.score_percent}% ({'passed' if attempt.passed else 'not passed'}).")
    return redirect("lms-teach-grading")


@require_http_methods(["GET", "POST"])
@lms_login_required
def course_edit(request, course_id):
    """Content editing: the course's shown fields, its interaction requirement, lessons and staff."""
    course = get_object_or_404(Course.objects.select_related("department"), pk=course_id)
    if not access_check(user=request.lms_user, right=Right.COURSE_MANAGE, course=course):
        return _forbidden(request)
    now = timezone.now()
    details = OfferingForm(initial={name: getattr(course, name) for name in OfferingForm.base_fields})
    requirement = CourseRequirementForm(initial={name: getattr(course, name)
                                                 for name in CourseRequirementForm.base_fields})
    lesson_form, staff_form = LessonForm(), CourseStaffForm()
    action = request.POST.get("action")
    if request.method == "POST":
        try:
            if action == "details":
                details = OfferingForm(request.POST)
                if details.is_valid():
                    catalog_services.course_update(course=course, now=now, **details.cleaned_data)
                    messages.success(request, "Saved; the store shows the change if the course is published.")
                    return redirect("lms-teach-course", course_id=course.pk)
            elif action == "requirement":
                requirement = CourseRequirementForm(request.POST)
                if requirement.is_valid():
                    catalog_services.course_update(course=course, now=now, **requirement.cleaned_data)
                    messages.success(request, "Interaction requirement saved.")
                    return redirect("lms-teach-course", course_id=course.pk)
            elif action == "lesson":
                lesson_form = LessonForm(request.POST, request.FILES)
                if lesson_form.is_valid():
                    catalog_services.lesson_create(course=course, now=now, **lesson_form.cleaned_data)
                    messages.success(request, "Lesson added.")
                    return redirect("lms-teach-course", course_id=course.pk)
            elif action == "staff":
                staff_form = CourseStaffForm(request.POST)
                if staff_form.is_valid():
                    user = lms_user_for_email(email=staff_form.cleaned_data["email"], now=now)
                    catalog_services.course_staff_assign(course=course, user=user, role=staff_form.cleaned_data["role"],
                                                         now=now)
                    messages.success(request, f"{user.email} is now {staff_form.cleaned_data['role']}.")
                    return redirect("lms-teach-course", course_id=course.pk)
            elif action in {"publish", "archive"}:
                service = catalog_services.course_publish if action == "publish" else catalog_services.course_archive
                service(course=course, now=now)
                messages.success(request, f"Course {action}ed." if action == "archive" else "Course published.")
                return redirect("lms-teach-course", course_id=course.pk)
            else:
                raise Http404("unknown action")
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return render_lms(request, "learning/teach/course.html", {
        "course": course, "details": details, "requirement": requirement, "lesson_form": lesson_form,
        "staff_form": staff_form, "lessons": Lesson.objects.filter(course=course).order_by("position"),
        "staff": course.staff.select_related("user").order_by("role"),
        "exams": course.exams.prefetch_related("questions")})


@require_http_methods(["GET", "POST"])
@lms_login_required
def lesson_edit(request, lesson_id):
    lesson = get_object_or_404(Lesson.objects.select_related("course__department"), pk=lesson_id)
    if not access_check(user=request.lms_user, right=Right.COURSE_MANAGE, course=lesson.course):
        return _forbidden(request)
    form = LessonForm(request.POST or None, initial={"title": lesson.title, "body": lesson.body,
                                                     "video_url": lesson.video_url})
    if request.method == "POST" and form.is_valid():
        catalog_services.lesson_update(lesson=lesson, title=form.cleaned_data["title"], body=form.cleaned_data["body"],
                                       video_url=form.cleaned_data["video_url"])
        messages.success(request, "Lesson saved.")
        return redirect("lms-teach-course", course_id=lesson.course_id)
    return render_lms(request, "learning/teach/lesson.html", {"lesson": lesson, "form": form})
