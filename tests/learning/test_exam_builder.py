"""The exam builder pages: rights (outsider, sibling department), the whole flow, bad input writing nothing."""

import pytest
from django.utils import timezone

from learning.models import Exam, ExamAttempt, Question
from tests.learning.conftest import lms_login
from tests.learning.factories import (
    CourseFactory,
    CourseStaffFactory,
    ExamFactory,
    LmsUserFactory,
    MembershipFactory,
    QuestionFactory,
    department,
)

pytestmark = pytest.mark.django_db

MC = {"action": "question", "kind": "multiple_choice", "prompt": "Two plus two?", "choices": "3\n4\n5",
      "correct_choice": "2", "points": "2"}
SHORT = {"action": "question", "kind": "short_answer", "prompt": "Explain why.", "points": "3"}


def _content_admin_of(course):
    return MembershipFactory(department=course.department, role="content-admin").user


def test_a_content_admin_builds_an_exam_from_the_course_page(client):
    course = CourseFactory()
    lms_login(client, _content_admin_of(course))
    assert f"/lms/teach/courses/{course.pk}/exams/new/" in client.get(f"/lms/teach/courses/{course.pk}/").content.decode()
    created = client.post(f"/lms/teach/courses/{course.pk}/exams/new/",
                          {"title": "Final", "max_attempts": "2", "pass_mark": "60"})
    exam = Exam.objects.get(course=course)
    assert created.status_code == 302 and created["Location"] == f"/lms/teach/exams/{exam.pk}/"
    assert (exam.title, exam.max_attempts, exam.pass_mark) == ("Final", 2, 60)
    url = f"/lms/teach/exams/{exam.pk}/"
    assert client.post(url, MC).status_code == 302
    assert client.post(url, SHORT).status_code == 302
    mc, short = exam.questions.order_by("position")
    assert (mc.kind, mc.choices, mc.correct_choice, mc.points) == ("multiple_choice", ["3", "4", "5"], 1, 2)
    assert (short.kind, short.choices, short.correct_choice) == ("short_answer", [], None)
    # Reorder, edit, remove.
    assert client.post(url, {"action": "up", "question": str(short.pk)}).status_code == 302
    assert list(exam.questions.order_by("position").values_list("pk", flat=True)) == [short.pk, mc.pk]
    edited = client.post(f"/lms/teach/questions/{mc.pk}/", {**MC, "prompt": "Three plus one?", "correct_choice": "3",
                                                            "choices": "2\n3\n4"})
    assert edited.status_code == 302
    mc.refresh_from_db()
    assert (mc.prompt, mc.correct_choice) == ("Three plus one?", 2)
    assert client.post(url, {"action": "remove", "question": str(short.pk)}).status_code == 302
    assert list(exam.questions.values_list("pk", flat=True)) == [mc.pk]
    saved = client.post(url, {"action": "settings", "title": "Final exam", "max_attempts": "5", "pass_mark": "80"})
    exam.refresh_from_db()
    assert saved.status_code == 302 and (exam.title, exam.max_attempts, exam.pass_mark) == ("Final exam", 5, 80)
    page = client.get(url).content.decode()
    assert page.count('data-testid="question-row"') == 1 and "Three plus one?" in page


def test_a_course_instructor_may_build_its_exams_from_the_teach_area(client):
    staff = CourseStaffFactory(role="instructor")
    exam = ExamFactory(course=staff.course)
    lms_login(client, staff.user)
    assert f"/lms/teach/exams/{exam.pk}/" in client.get("/lms/teach/").content.decode()
    assert client.post(f"/lms/teach/exams/{exam.pk}/", SHORT).status_code == 302
    assert exam.questions.count() == 1


def test_outsiders_and_a_sibling_department_are_refused_and_nothing_changes(client):
    root = department("University")
    web, data = department("Web", root), department("Data", root)
    course = CourseFactory(department=web)
    exam = ExamFactory(course=course, title="Kept")
    question = QuestionFactory(exam=exam)
    sibling_admin = MembershipFactory(department=data, role="content-admin").user
    learner = LmsUserFactory()
    for user in (sibling_admin, learner):
        lms_login(client, user)
        assert client.get(f"/lms/teach/courses/{course.pk}/exams/new/").status_code == 403
        assert client.post(f"/lms/teach/courses/{course.pk}/exams/new/",
                           {"title": "X", "max_attempts": "1", "pass_mark": "50"}).status_code == 403
        assert client.get(f"/lms/teach/exams/{exam.pk}/").status_code == 403
        assert client.post(f"/lms/teach/exams/{exam.pk}/", MC).status_code == 403
        assert client.post(f"/lms/teach/exams/{exam.pk}/",
                           {"action": "remove", "question": str(question.pk)}).status_code == 403
        assert client.post(f"/lms/teach/questions/{question.pk}/", MC).status_code == 403
    client.logout()
    assert client.get(f"/lms/teach/exams/{exam.pk}/").status_code == 302  # to the sign-in
    assert Exam.objects.get().title == "Kept" and list(Question.objects.all()) == [question]
    # A parent's content admin acts in the child.
    lms_login(client, MembershipFactory(department=root, role="content-admin").user)
    assert client.get(f"/lms/teach/exams/{exam.pk}/").status_code == 200
    assert client.get(f"/lms/teach/exams/{ExamFactory().pk}/").status_code == 403  # another tree


@pytest.mark.parametrize("values", [
    {"title": "Final", "max_attempts": "2", "pass_mark": "101"},
    {"title": "Final", "max_attempts": "2", "pass_mark": "-1"},
    {"title": "Final", "max_attempts": "0", "pass_mark": "50"},
    {"title": "", "max_attempts": "2", "pass_mark": "50"},
    {"title": "Final", "max_attempts": "two", "pass_mark": "50"},
])
def test_bad_exam_settings_are_refused_and_nothing_is_written(client, values):
    course = CourseFactory()
    lms_login(client, _content_admin_of(course))
    assert client.post(f"/lms/teach/courses/{course.pk}/exams/new/", values).status_code == 422
    assert not Exam.objects.exists()
    exam = ExamFactory(course=course, title="Kept", pass_mark=50, max_attempts=2)
    assert client.post(f"/lms/teach/exams/{exam.pk}/", {"action": "settings", **values}).status_code == 422
    exam.refresh_from_db()
    assert (exam.title, exam.pass_mark, exam.max_attempts) == ("Kept", 50, 2)


@pytest.mark.parametrize("question", [
    {**MC, "choices": "only one"},
    {**MC, "correct_choice": "4"},
    {**MC, "correct_choice": ""},
    {**MC, "choices": "4\n4"},
    {**MC, "prompt": "  "},
    {**MC, "points": "0"},
    {**MC, "kind": "essay"},
])
def test_bad_questions_are_refused_and_nothing_is_written(client, question):
    exam = ExamFactory()
    kept = QuestionFactory(exam=exam, prompt="Kept?")
    lms_login(client, _content_admin_of(exam.course))
    assert client.post(f"/lms/teach/exams/{exam.pk}/", question).status_code == 422
    assert list(exam.questions.all()) == [kept]
    assert client.post(f"/lms/teach/questions/{kept.pk}/", question).status_code == 422
    kept.refresh_from_db()
    assert (kept.prompt, kept.choices, kept.correct_choice) == ("Kept?", ["3", "4"], 1)


def test_an_exam_someone_took_keeps_its_questions(client):
    exam = ExamFactory()
    question = QuestionFactory(exam=exam)
    ExamAttempt.objects.create(exam=exam, user=LmsUserFactory(), number=1, status="graded",
                               submitted_at=timezone.now())
    lms_login(client, _content_admin_of(exam.course))
    assert client.post(f"/lms/teach/exams/{exam.pk}/", SHORT).status_code == 409
    assert client.post(f"/lms/teach/exams/{exam.pk}/", {"action": "remove", "question": str(question.pk)}
                       ).status_code == 409
    assert client.post(f"/lms/teach/questions/{question.pk}/", MC).status_code == 409
    assert list(exam.questions.all()) == [question] and question.prompt == Question.objects.get().prompt
    assert client.post(f"/lms/teach/exams/{exam.pk}/", {"action": "settings", "title": "Renamed",
                                                        "max_attempts": "3", "pass_mark": "40"}).status_code == 302


def test_moving_past_either_end_changes_nothing_and_a_foreign_question_is_404(client):
    exam = ExamFactory()
    first, second = QuestionFactory(exam=exam, position=1), QuestionFactory(exam=exam, position=2)
    other = QuestionFactory()
    lms_login(client, _content_admin_of(exam.course))
    url = f"/lms/teach/exams/{exam.pk}/"
    assert client.post(url, {"action": "up", "question": str(first.pk)}).status_code == 302
    assert client.post(url, {"action": "down", "question": str(second.pk)}).status_code == 302
    assert list(exam.questions.order_by("position").values_list("pk", flat=True)) == [first.pk, second.pk]
    assert client.post(url, {"action": "remove", "question": str(other.pk)}).status_code == 404
    assert client.post(url, {"action": "remove", "question": "nope"}).status_code == 404
    assert Question.objects.count() == 3


def test_a_question_with_several_right_answers_is_built_and_graded_on_the_whole_set(client):
    from tests.learning.factories import EnrollmentFactory

    exam = ExamFactory(pass_mark=100, max_attempts=3)
    lms_login(client, _content_admin_of(exam.course))
    url = f"/lms/teach/exams/{exam.pk}/"
    assert client.post(url, {**MC, "choices": "2\n4\n5\nfour", "correct_choice": "2, 4"}).status_code == 302
    question = exam.questions.get()
    assert (question.correct_choice, question.correct_choices, question.correct_indexes) == (1, [1, 3], [1, 3])
    assert question.select_all
    assert client.post(url, {**MC, "correct_choice": "1, 9"}).status_code == 422  # out of range: nothing written
    assert exam.questions.count() == 1
    edit = client.get(f"/lms/teach/questions/{question.pk}/").content.decode()
    assert 'value="2, 4"' in edit
    learner = EnrollmentFactory(course=exam.course).user
    lms_login(client, learner)
    page = client.get(f"/lms/exams/{exam.pk}/").content.decode()
    assert f'type="checkbox" name="q-{question.pk}"' in page
    client.post(f"/lms/exams/{exam.pk}/", {f"q-{question.pk}": ["1"]})  # half the set: no points
    client.post(f"/lms/exams/{exam.pk}/", {f"q-{question.pk}": ["3", "1"]})  # the whole set
    first, second = ExamAttempt.objects.filter(user=learner).order_by("number")
    assert (first.passed, second.passed) == (False, True)
    assert second.answers == {str(question.pk): [1, 3]}


def test_the_api_creates_a_select_all_question_and_says_so():
    from tests.learning.test_api_learning import _client

    course = CourseFactory()
    api = _client(_content_admin_of(course))
    created = api.post(f"/api/v2/courses/{course.pk}/exams/", {"title": "Quiz", "questions": [
        {"kind": "multiple_choice", "prompt": "Even?", "choices": ["1", "2", "4"], "correctChoices": [2, 1]}]},
        format="json")
    assert created.status_code == 201, created.content
    assert created.json()["questions"][0]["selectAll"] is True
    assert "correctChoices" not in created.json()["questions"][0]  # learners never see the answers
    assert Question.objects.get().correct_indexes == [1, 2]
    refused = api.post(f"/api/v2/courses/{course.pk}/exams/", {"title": "Quiz", "questions": [
        {"kind": "multiple_choice", "prompt": "Even?", "choices": ["1", "2"], "correctChoices": [0, 5]}]},
        format="json")
    assert refused.status_code == 422 and Exam.objects.count() == 1
