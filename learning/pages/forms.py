"""Forms of the LMS staff pages."""

from django import forms

from learning.models import CourseStaffRole, InteractionKind, ProgramKind, QuestionKind, StaffRole


class DepartmentForm(forms.Form):
    name = forms.CharField(max_length=200)


class MembershipForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=StaffRole.choices)


class CourseStaffForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=CourseStaffRole.choices)


class OfferingForm(forms.Form):
    title = forms.CharField(max_length=255)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    suggested_price = forms.DecimalField(min_value=0, max_digits=15, decimal_places=2, label="Suggested price")
    currency = forms.RegexField(regex=r"^[A-Z]{3}$", max_length=3, initial="USD",
                                error_messages={"invalid": "An ISO 4217 code in capitals, e.g. USD."})
    duration_weeks = forms.IntegerField(min_value=0, max_value=520, required=False, label="Duration (weeks)")
    thumbnail_url = forms.URLField(required=False, label="Thumbnail URL")
    instructor_name = forms.CharField(max_length=200, required=False, label="Instructor name shown in the store")
    requires_approval = forms.BooleanField(required=False, label="Enrollments need a department admin's approval")


class CourseRequirementForm(forms.Form):
    required_discussion_replies = forms.IntegerField(min_value=0, initial=0, label="Discussion replies needed")
    required_assignments_graded = forms.IntegerField(min_value=0, initial=0, label="Assignments graded needed")
    required_live_session_minutes = forms.IntegerField(min_value=0, initial=0, label="Live-session minutes needed")
    requires_manual_verification = forms.BooleanField(required=False, label="Only an admin's manual verification counts")


class ProgramForm(OfferingForm):
    kind = forms.ChoiceField(choices=ProgramKind.choices)
    courses = forms.ModelMultipleChoiceField(queryset=None, required=False,
                                             help_text="In this order (hold Ctrl or Cmd to pick several).")

    def __init__(self, *args, courses=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["courses"].queryset = courses


class ClassForm(forms.Form):
    course = forms.ModelChoiceField(queryset=None)
    title = forms.CharField(max_length=255)
    starts_at = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    ends_at = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    schedule = forms.CharField(max_length=500, required=False, help_text="e.g. Tuesdays 18:00-20:00 UTC")
    capacity = forms.IntegerField(min_value=1, max_value=100000)
    instructor_email = forms.EmailField(required=False, label="Instructor's email")

    def __init__(self, *args, courses=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["course"].queryset = courses


class LessonForm(forms.Form):
    title = forms.CharField(max_length=255)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), required=False)
    video_url = forms.URLField(required=False, label="Video link")
    attachment = forms.FileField(required=False)


class InteractionForm(forms.Form):
    kind = forms.ChoiceField(choices=InteractionKind.choices)
    quantity = forms.IntegerField(min_value=1, max_value=100000, initial=1)
    note = forms.CharField(max_length=500, required=False)


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV with a header row: email, courseId or programId, expiresAt (optional)")
    dry_run = forms.BooleanField(required=False, initial=True, label="Dry run: check every row, change nothing")


class ExamForm(forms.Form):
    title = forms.CharField(max_length=255)
    max_attempts = forms.IntegerField(min_value=1, max_value=100, initial=3, label="Attempts allowed")
    pass_mark = forms.IntegerField(min_value=0, max_value=100, initial=70, label="Pass mark (% of the points)")


class QuestionForm(forms.Form):
    kind = forms.ChoiceField(choices=QuestionKind.choices)
    prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, label="Question")
    choices = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False,
                              help_text="Multiple choice: one choice per line.")
    correct_choice = forms.RegexField(regex=r"^\s*\d{1,2}(\s*,\s*\d{1,2})*\s*$", required=False, max_length=100,
                                      label="Correct choice number(s)",
                                      help_text="Multiple choice: the number of the correct line, from 1; several "
                                                "numbers (e.g. 1, 3) when several are right.",
                                      error_messages={"invalid": "Line numbers, separated by commas."})
    points = forms.IntegerField(min_value=1, max_value=100, initial=1)

    def clean(self):
        """The builder's own rules (learning.services.exams.checked_question), as form errors."""
        from learning.errors import ExamInvalid
        from learning.services.exams import checked_question

        data = super().clean()
        if self.errors:
            return data
        numbers = [int(part) for part in (data.get("correct_choice") or "").split(",") if part.strip()]
        correct = [number - 1 for number in numbers]
        # The services' arguments; checked here too, so a bad question comes back as form errors.
        question = {"kind": data["kind"], "prompt": data["prompt"], "choices": (data.get("choices") or "").splitlines(),
                    "correct_choice": (correct[0] if len(correct) == 1 else correct) if correct else None,
                    "points": data["points"]}
        try:
            checked_question(**question)
            data["question"] = question
        except ExamInvalid as exc:
            fields = {"choices": "choices", "correctChoice": "correct_choice", "prompt": "prompt", "points": "points",
                      "kind": "kind"}
            for key, message in exc.details.items():
                self.add_error(fields.get(key), message)
        return data

    @classmethod
    def initial_of(cls, question) -> dict:
        return {"kind": question.kind, "prompt": question.prompt, "choices": "\n".join(question.choices or []),
                "correct_choice": ", ".join(str(index + 1) for index in question.correct_indexes),
                "points": question.points}
