"""The exam builder: an exam's settings and its questions (multiple choice, short answer), added, edited,
removed and reordered.

Every change checks its input before writing anything and runs in one transaction. Once a learner
has taken the exam its questions are fixed (past attempts are scored against them); its title,
attempt limit and pass mark may still change.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import Max

from learning.errors import ExamHasAttempts, ExamInvalid
from learning.models import Course, Exam, ExamAttempt, Question, QuestionKind

MAX_ATTEMPTS_LIMIT = 100
MAX_CHOICES = 20
MAX_POINTS = 100


def _checked_settings(*, title: str, pass_mark, max_attempts) -> tuple[str, int, int]:
    title = (title or "").strip()
    problems = {}
    if not title or len(title) > 255:
        problems["title"] = "A title of 1 to 255 characters."
    if not isinstance(pass_mark, int) or isinstance(pass_mark, bool) or not 0 <= pass_mark <= 100:
        problems["passMark"] = "A percent from 0 to 100."
    if (not isinstance(max_attempts, int) or isinstance(max_attempts, bool)
            or not 1 <= max_attempts <= MAX_ATTEMPTS_LIMIT):
        problems["maxAttempts"] = f"From 1 to {MAX_ATTEMPTS_LIMIT} attempts."
    if problems:
        raise ExamInvalid("; ".join(problems.values()), details=problems)
    return title, pass_mark, max_attempts


def checked_question(*, kind: str, prompt: str, choices: list[str] | None = None,
                     correct_choice: int | list[int] | None = None, points: int = 1) -> dict:
    """The question's fields as stored, or :class:`ExamInvalid`.

    ``correct_choice`` counts from 0: one index, or a list of them when several choices are right (the
    learner then selects all that apply).
    """
    prompt = (prompt or "").strip()
    problems = {}
    if kind not in QuestionKind.values:
        problems["kind"] = "Multiple choice or short answer."
    if not prompt or len(prompt) > 5000:
        problems["prompt"] = "A question of 1 to 5000 characters."
    if not isinstance(points, int) or isinstance(points, bool) or not 1 <= points <= MAX_POINTS:
        problems["points"] = f"From 1 to {MAX_POINTS} points."
    clean = [str(choice).strip() for choice in (choices or []) if str(choice).strip()]
    if kind == QuestionKind.MULTIPLE_CHOICE:
        if not 2 <= len(clean) <= MAX_CHOICES or any(len(choice) > 500 for choice in clean):
            problems["choices"] = f"From 2 to {MAX_CHOICES} choices of at most 500 characters each."
        elif len(set(clean)) != len(clean):
            problems["choices"] = "Each choice once."
        else:
            correct = correct_choice if isinstance(correct_choice, list | tuple) else [correct_choice]
            if not correct or any(not isinstance(index, int) or isinstance(index, bool)
                                  or not 0 <= index < len(clean) for index in correct):
                problems["correctChoice"] = "Say which of the choices are correct (by their numbers)."
            else:
                correct = sorted(set(correct))
    else:
        clean, correct = [], []
    if problems:
        raise ExamInvalid("; ".join(problems.values()), details=problems)
    return {"kind": kind, "prompt": prompt, "choices": clean, "correct_choice": correct[0] if correct else None,
            "correct_choices": correct if len(correct) > 1 else [], "points": points}


@transaction.atomic
def exam_build(*, course: Course, title: str, pass_mark: int, max_attempts: int, now: datetime) -> Exam:
    """A new, empty exam on ``course`` (questions are added one by one)."""
    title, pass_mark, max_attempts = _checked_settings(title=title, pass_mark=pass_mark, max_attempts=max_attempts)
    return Exam.objects.create(course=course, title=title, pass_mark=pass_mark, max_attempts=max_attempts,
                               created_at=now)


@transaction.atomic
def exam_settings_update(*, exam: Exam, title: str, pass_mark: int, max_attempts: int) -> Exam:
    exam.title, exam.pass_mark, exam.max_attempts = _checked_settings(
        title=title, pass_mark=pass_mark, max_attempts=max_attempts)
    exam.save(update_fields=["title", "pass_mark", "max_attempts"])
    return exam


def _locked_exam(exam: Exam) -> Exam:
    """The exam row locked (so two editors renumber in turn), refused once someone has taken it."""
    exam = Exam.objects.select_for_update().get(pk=exam.pk)
    if ExamAttempt.objects.filter(exam=exam).exists():
        raise ExamHasAttempts(details={"examId": str(exam.pk)})
    return exam


@transaction.atomic
def question_add(*, exam: Exam, **fields) -> Question:
    values = checked_question(**fields)
    exam = _locked_exam(exam)
    last = exam.questions.aggregate(last=Max("position"))["last"] or 0
    return Question.objects.create(exam=exam, position=last + 1, **values)


@transaction.atomic
def question_update(*, question: Question, **fields) -> Question:
    values = checked_question(**fields)
    _locked_exam(question.exam)
    for name, value in values.items():
        setattr(question, name, value)
    question.save(update_fields=list(values))
    return question


@transaction.atomic
def question_remove(*, question: Question) -> None:
    _locked_exam(question.exam)
    question.delete()


@transaction.atomic
def question_move(*, question: Question, direction: str) -> bool:
    """Swaps the question with its neighbour above (``up``) or below (``down``); ``False`` at either end."""
    if direction not in {"up", "down"}:
        raise ExamInvalid("Move a question up or down.", details={"direction": direction})
    exam = _locked_exam(question.exam)
    question = Question.objects.get(pk=question.pk)
    neighbours = exam.questions.filter(
        position__lt=question.position).order_by("-position") if direction == "up" else exam.questions.filter(
        position__gt=question.position).order_by("position")
    other = neighbours.first()
    if other is None:
        return False
    mine, theirs = question.position, other.position
    # (exam, position) is unique: park one at 0 (positions start at 1) while the other takes its place.
    Question.objects.filter(pk=question.pk).update(position=0)
    Question.objects.filter(pk=other.pk).update(position=mine)
    Question.objects.filter(pk=question.pk).update(position=theirs)
    return True
