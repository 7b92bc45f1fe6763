"""The exam builder (``/lms/teach/``): create an exam on a course, edit its settings, add, edit, remove and
reorder its questions. Each page checks ``content:exams:manage`` on the exam's course (instructors,
content admins and the course's creators, inherited down the department tree)."""


from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from integration.errors import ApplicationError
from learning.models import Course, Exam, ExamAttempt, Question
from learning.pages import lms_login_required, posted_pk, render_lms
from learning.pages.forms import ExamForm, QuestionForm
from learning.permissions import Right, access_check
from learning.services import exams as exam_services


def _forbidden(request):
    return render_lms(request, "learning/forbidden.html", status=403)


def _course_editable(request, course) -> bool:
    """Whether the breadcrumb links the course's page (content editing); an instructor builds exams, not courses."""
    return access_check(user=request.lms_user, right=Right.COURSE_MANAGE, course=course)


def _settings_of(form: ExamForm) -> dict:
    return {name: form.cleaned_data[name] for name in ("title", "pass_mark", "max_attempts")}


@require_http_methods(["GET", "POST"])
@lms_login_required
def exam_new(request, course_id):
    course = get_object_or_404(Course.objects.select_related("department"), pk=course_id)
    if not access_check(user=request.lms_user, right=Right.EXAM_MANAGE, course=course):
        return _forbidden(request)
    form = ExamForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                exam = exam_services.exam_build(course=course, now=timezone.now(), **_settings_of(form))
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, "Exam created; now add its questions.")
                return redirect("lms-teach-exam", exam_id=exam.pk)
        status = 422
    return render_lms(request, "learning/teach/exam_new.html", {
        "course": course, "form": form, "course_editable": _course_editable(request, course)}, status=status)


@require_http_methods(["GET", "POST"])
@lms_login_required
def exam_builder(request, exam_id):
    """The exam's settings and questions; each form posts an ``action`` back here."""
    exam = get_object_or_404(Exam.objects.select_related("course__department"), pk=exam_id)
    if not access_check(user=request.lms_user, right=Right.EXAM_MANAGE, course=exam.course):
        return _forbidden(request)
    settings_form = ExamForm(initial={"title": exam.title, "pass_mark": exam.pass_mark,
                                      "max_attempts": exam.max_attempts})
    question_form = QuestionForm()
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "settings":
                settings_form = ExamForm(request.POST)
                if settings_form.is_valid():
                    exam_services.exam_settings_update(exam=exam, **_settings_of(settings_form))
                    messages.success(request, "Exam saved.")
                    return redirect("lms-teach-exam", exam_id=exam.pk)
            elif action == "question":
                question_form = QuestionForm(request.POST)
                if question_form.is_valid():
                    exam_services.question_add(exam=exam, **question_form.cleaned_data["question"])
                    messages.success(request, "Question added.")
                    return redirect("lms-teach-exam", exam_id=exam.pk)
            elif action in {"remove", "up", "down"}:
                question = get_object_or_404(Question, pk=posted_pk(Question, request.POST.get("question")), exam=exam)
                if action == "remove":
                    exam_services.question_remove(question=question)
                    messages.success(request, "Question removed.")
                else:
                    exam_services.question_move(question=question, direction=action)
                return redirect("lms-teach-exam", exam_id=exam.pk)
            else:
                messages.error(request, "Unknown action.")
                status = 400
        except ApplicationError as exc:
            messages.error(request, exc.message)
            status = exc.status_code
        else:
            if status == 200:
                status = 422  # a form came back with its errors
    return render_lms(request, "learning/teach/exam.html", {
        "exam": exam, "course": exam.course, "settings_form": settings_form, "question_form": question_form,
        "questions": exam.questions.order_by("position"),
        "has_attempts": ExamAttempt.objects.filter(exam=exam).exists(),
        "course_editable": _course_editable(request, exam.course)}, status=status)


@require_http_methods(["GET", "POST"])
@lms_login_required
def question_edit(request, question_id):
    question = get_object_or_404(Question.objects.select_related("exam__course__department"), pk=question_id)
    if not access_check(user=request.lms_user, right=Right.EXAM_MANAGE, course=question.exam.course):
        return _forbidden(request)
    form = QuestionForm(request.POST or None, initial=QuestionForm.initial_of(question))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                exam_services.question_update(question=question, **form.cleaned_data["question"])
            except ApplicationError as exc:
                messages.error(request, exc.message)
                status = exc.status_code
            else:
                messages.success(request, "Question saved.")
                return redirect("lms-teach-exam", exam_id=question.exam_id)
        else:
            status = 422
    return render_lms(request, "learning/teach/question.html", {"question": question, "exam": question.exam,
                                                                 "form": form}, status=status)

