"""The learner's pages: my courses, the course player (htmx progress), exams, certificates (public and PDF)."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from integration.errors import ApplicationError
from learning import selectors
from learning.models import Enrollment, Exam, Lesson
from learning.pages import lms_login_required, render_lms
from learning.permissions import Right, access_check, is_staff_anywhere
from learning.services.progress import access_enrollment, exam_attempt_submit, lesson_complete
from learning.web import lms_url, store_url


@require_GET
@never_cache
@lms_login_required
def my_courses(request):
    rows = selectors.my_enrollments(user=request.lms_user)
    return render_lms(request, "learning/my_courses.html", {
        "rows": rows, "catalog_url": store_url("/"), "is_staff": is_staff_anywhere(request.lms_user)})


@require_GET
@lms_login_required
def enrollment_open_page(request, enrollment_id):
    enrollment = get_object_or_404(Enrollment, pk=enrollment_id, user=request.lms_user)
    if enrollment.course_id:
        return redirect("lms-player", course_id=enrollment.course_id)
    first = enrollment.program.program_courses.order_by("position").first()
    if first is None:
        return redirect("lms-home")
    return redirect("lms-player", course_id=first.course_id)


def _player_context(request, player, lesson=None):
    lesson = lesson or player.next_lesson or (player.lessons[0] if player.lessons else None)
    return {"player": player, "course": player.course, "lesson": lesson, "enrollment": player.enrollment}


@require_GET
@never_cache
@lms_login_required
def course_player(request, course_id):
    player = selectors.course_player(user=request.lms_user, course_id=course_id)
    # The course's staff (its teach page links "Open the player") see it as a preview: nothing is recorded.
    preview = player.enrollment is None and access_check(user=request.lms_user, right=Right.COURSE_READ,
                                                         course=player.course)
    if player.enrollment is None and not preview:
        return render_lms(request, "learning/not_enrolled.html", {"course": player.course,
                                                                  "catalog_url": store_url("/")}, status=403)
    lesson = None
    if lesson_id := request.GET.get("lesson"):
        lesson = next((item for item in player.lessons if str(item.pk) == lesson_id), None)
    return render_lms(request, "learning/player.html", _player_context(request, player, lesson) | {"preview": preview})


@require_POST
@lms_login_required
def lesson_done(request, course_id, lesson_id):
    """Marks a lesson done; htmx gets the progress and lesson list back, a plain form a redirect."""
    lesson = get_object_or_404(Lesson.objects.select_related("course"), pk=lesson_id, course_id=course_id)
    enrollment = access_enrollment(user=request.lms_user, course=lesson.course)
    if enrollment is None:
        raise Http404("not enrolled")
    try:
        lesson_complete(enrollment=enrollment, lesson=lesson, user=request.lms_user, now=timezone.now())
    except ApplicationError as exc:
        return HttpResponse(exc.message, status=exc.status_code)
    player = selectors.course_player(user=request.lms_user, course_id=course_id)
    if request.htmx:
        html = render_to_string("learning/_player_progress.html", {**_player_context(request, player, lesson),
                                                                   "oob": True}, request=request)
        return HttpResponse(html)
    messages.success(request, f"“{lesson.title}” marked as done.")
    next_lesson = player.next_lesson
    suffix = f"?lesson={next_lesson.pk}" if next_lesson else ""
    return redirect(f"/lms/courses/{course_id}/{suffix}")


@require_http_methods(["GET", "POST"])
@never_cache
@lms_login_required
def exam_page(request, exam_id):
    exam = get_object_or_404(Exam.objects.select_related("course"), pk=exam_id)
    enrollment = access_enrollment(user=request.lms_user, course=exam.course)
    if enrollment is None:
        return render_lms(request, "learning/not_enrolled.html", {"course": exam.course,
                                                                  "catalog_url": store_url("/")}, status=403)
    questions = list(exam.questions.order_by("position"))
    attempts = list(exam.attempts.filter(user=request.lms_user).order_by("number"))
    error, status = "", 200
    if request.method == "POST":
        answers = {}
        for question in questions:
            if question.select_all:
                picked = request.POST.getlist(f"q-{question.pk}")
                if picked:
                    answers[str(question.pk)] = [int(v) if v.isdecimal() else v for v in picked]
                continue
            value = request.POST.get(f"q-{question.pk}", "")
            if value != "":
                answers[str(question.pk)] = value if question.kind == "short_answer" else int(value) \
                    if value.isdecimal() else value
        try:
            attempt = exam_attempt_submit(user=request.lms_user, exam=exam, answers=answers, now=timezone.now())
        except ApplicationError as exc:
            error, status = exc.message, exc.status_code
        else:
            if attempt.status == "awaiting_grading":
                messages.info(request, "Submitted. An instructor grades the short answers; you will see the result here.")
            elif attempt.passed:
                messages.success(request, f"Passed with {attempt.score_percent}%.")
            else:
                messages.error(request, f"Scored {attempt.score_percent}%; {exam.pass_mark}% is needed to pass.")
            return redirect("lms-exam", exam_id=exam.pk)
    return render_lms(request, "learning/exam.html", {
        "exam": exam, "questions": questions, "attempts": attempts, "error": error,
        "attempts_left": max(0, exam.max_attempts - len(attempts))}, status=status)


@require_GET
@lms_login_required
def my_certificates(request):
    certificates = request.lms_user.certificates.order_by("-issued_at")
    return render_lms(request, "learning/certificates.html", {"certificates": certificates})


def _certificate_or_404(code: str):
    certificate = selectors.certificate_by_code(code=code)
    if certificate is None:
        raise Http404("no such certificate")
    return certificate


@require_GET
def certificate_public(request, code):
    """The public verification page: anyone with the code can check the certificate."""
    certificate = _certificate_or_404(code)
    return render_lms(request, "learning/certificate_public.html", {
        "certificate": certificate, "verify_url": lms_url(f"/certificates/{certificate.code}/")})


@require_GET
def certificate_pdf(request, code):
    """The same certificate as a PDF, rendered by WeasyPrint from the template the page uses."""
    from weasyprint import HTML

    certificate = _certificate_or_404(code)
    html = render_to_string("learning/_certificate.html", {
        "certificate": certificate, "verify_url": lms_url(f"/certificates/{certificate.code}/"), "pdf": True})
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="certificate-{certificate.code}.pdf"'
    return response
