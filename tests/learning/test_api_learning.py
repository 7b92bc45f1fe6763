"""The Learning API of shared/API.md: camelCase shapes, access rights per department, clear 4xx answers."""

import pytest
from rest_framework.test import APIClient

from integration.topics import Topic
from learning.models import Course, CourseStaff, Enrollment, Lesson
from tests.learning.conftest import lms_login
from tests.learning.factories import (
    CourseFactory,
    EnrollmentFactory,
    LessonFactory,
    LmsUserFactory,
    MembershipFactory,
    QuestionFactory,
    department,
)

pytestmark = pytest.mark.django_db


def _client(user):
    client = APIClient(enforce_csrf_checks=False)
    lms_login(client, user)
    return client


def test_a_content_admin_creates_publishes_and_fills_a_course(outbox):
    web = department("Web")
    admin = MembershipFactory(department=web, role="content-admin").user
    client = _client(admin)
    created = client.post("/api/v2/courses/", {"departmentId": str(web.pk), "title": "APIs", "description": "d",
                                               "suggestedPrice": "120.00", "currency": "USD", "durationWeeks": 3,
                                               "requiresApproval": True}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft" and body["suggestedPrice"] == "120.00" and body["requiresApproval"] is True
    course_id = body["id"]
    lesson = client.post(f"/api/v2/courses/{course_id}/lessons/", {"title": "One", "body": "Text"}, format="json")
    assert lesson.status_code == 201 and lesson.json()["position"] == 1
    exam = client.post(f"/api/v2/courses/{course_id}/exams/", {"title": "Quiz", "passMark": 60, "questions": [
        {"kind": "multiple_choice", "prompt": "?", "choices": ["a", "b"], "correctChoice": 1},
        {"kind": "short_answer", "prompt": "Why?"}]}, format="json")
    assert exam.status_code == 201 and len(exam.json()["questions"]) == 2
    assert "correctChoice" not in exam.json()["questions"][0]
    published = client.post(f"/api/v2/courses/{course_id}/publish/")
    assert published.status_code == 200 and published.json()["status"] == "published"
    assert len(outbox(Topic.CATALOG_SYNC)) == 1
    assert client.get("/api/v2/courses/?status=published&q=API").json()["results"][0]["id"] == course_id
    assert client.post(f"/api/v2/courses/{course_id}/archive/").json()["status"] == "archived"


def test_acting_outside_ones_departments_is_forbidden():
    web, data = department("Web"), department("Data")
    client = _client(MembershipFactory(department=web, role="department-admin").user)
    response = client.post("/api/v2/courses/", {"departmentId": str(data.pk), "title": "X", "suggestedPrice": "1",
                                                "currency": "USD"}, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "lms_access_denied"
    other = CourseFactory(department=data)
    assert client.post(f"/api/v2/courses/{other.pk}/publish/").status_code == 403
    assert client.post("/api/v2/departments/", {"name": "Top"}, format="json").status_code == 403
    child = client.post("/api/v2/departments/", {"name": "Frontend", "parentId": str(web.pk)}, format="json")
    assert child.status_code == 201 and child.json()["parentId"] == str(web.pk)
    assert not Course.objects.filter(title="X").exists()


def test_bad_input_gets_a_clear_4xx():
    web = department("Web")
    client = _client(MembershipFactory(department=web, role="content-admin").user)
    bad = client.post("/api/v2/courses/", {"departmentId": str(web.pk), "title": "", "suggestedPrice": "-1",
                                           "currency": "usd"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"
    course = CourseFactory(department=web)
    exam = client.post(f"/api/v2/courses/{course.pk}/exams/", {"title": "Q", "questions": [
        {"kind": "multiple_choice", "prompt": "?", "choices": ["only one"], "correctChoice": 0}]}, format="json")
    assert exam.status_code == 422
    assert client.post("/api/v2/courses/00000000-0000-0000-0000-000000000000/publish/").status_code == 404


def test_memberships_and_course_staff_through_the_api():
    web = department("Web")
    admin = MembershipFactory(department=web, role="department-admin").user
    client = _client(admin)
    person = LmsUserFactory(email="teacher@example.com")
    added = client.post(f"/api/v2/departments/{web.pk}/memberships/", {"email": person.email, "role": "instructor"},
                        format="json")
    assert added.status_code == 201 and added.json()["role"] == "instructor"
    listed = client.get(f"/api/v2/departments/{web.pk}/memberships/").json()["results"]
    assert {m["email"] for m in listed} == {admin.email, person.email}
    course = CourseFactory(department=web)
    staff = client.post(f"/api/v2/courses/{course.pk}/staff/", {"email": person.email, "role": "content-creator"},
                        format="json")
    assert staff.status_code == 201 and CourseStaff.objects.filter(course=course, user=person).exists()
    unknown = client.post(f"/api/v2/courses/{course.pk}/staff/", {"email": "ghost@example.com", "role": "instructor"},
                          format="json")
    assert unknown.status_code == 404
    assert client.delete(f"/api/v2/memberships/{added.json()['id']}/").status_code == 204


def test_a_learner_sees_their_enrollments_makes_progress_and_takes_the_exam():
    course = CourseFactory()
    lesson = LessonFactory(course=course)
    question = QuestionFactory(exam__course=course)
    enrollment = EnrollmentFactory(course=course)
    client = _client(enrollment.user)
    mine = client.get("/api/v2/me/enrollments/").json()["results"]
    assert mine[0]["id"] == str(enrollment.pk) and mine[0]["lessonsTotal"] == 1 and mine[0]["progressPercent"] == 0
    progress = client.post(f"/api/v2/enrollments/{enrollment.pk}/progress/", {"lessonId": str(lesson.pk)},
                           format="json")
    assert progress.status_code == 200 and progress.json()["progressPercent"] == 100
    wrong = client.post(f"/api/v2/enrollments/{enrollment.pk}/progress/", {"lessonId": str(LessonFactory().pk)},
                        format="json")
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "lesson_not_in_course"
    attempt = client.post(f"/api/v2/exams/{question.exam_id}/attempts/", {"answers": {str(question.pk): 1}},
                          format="json")
    assert attempt.status_code == 201 and attempt.json()["passed"] is True
    certificates = client.get("/api/v2/me/certificates/").json()["results"]
    assert certificates[0]["url"].startswith("/certificates/")
    stranger = _client(LmsUserFactory())
    assert stranger.post(f"/api/v2/enrollments/{enrollment.pk}/progress/", {"lessonId": str(lesson.pk)},
                         format="json").status_code == 404
    assert stranger.get(f"/api/v2/courses/{course.pk}/lessons/").status_code == 403


def test_approve_reject_and_interactions_check_the_department(outbox):
    web, data = department("Web"), department("Data")
    admin = MembershipFactory(department=web, role="department-admin").user
    mine = EnrollmentFactory(course=CourseFactory(department=web, requires_approval=True), status="pending",
                             commerce_order_id="o-1", commerce_order_item_id="l-1")
    theirs = EnrollmentFactory(course=CourseFactory(department=data), status="pending")
    client = _client(admin)
    approved = client.post(f"/api/v2/enrollments/{mine.pk}/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == "active"
    assert outbox(Topic.ENROLLMENT_STATUS)[0]["event"] == "enrollment.approved"
    assert client.post(f"/api/v2/enrollments/{mine.pk}/reject/").status_code == 409
    assert client.post(f"/api/v2/enrollments/{theirs.pk}/reject/").status_code == 403
    interaction = client.post(f"/api/v2/enrollments/{mine.pk}/interactions/", {"kind": "manual_verification"},
                              format="json")
    assert interaction.status_code == 201 and interaction.json()["kind"] == "manual_verification"
    assert Enrollment.objects.get(pk=theirs.pk).status == "pending"


def test_the_learning_api_is_in_the_schema():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for path in ["/api/v2/departments/", "/api/v2/programs/", "/api/v2/courses/", "/api/v2/courses/{course_id}/publish/",
                 "/api/v2/courses/{course_id}/staff/", "/api/v2/courses/{course_id}/lessons/",
                 "/api/v2/me/enrollments/", "/api/v2/enrollments/{enrollment_id}/progress/",
                 "/api/v2/exams/{exam_id}/attempts/", "/api/v2/enrollments/{enrollment_id}/approve/",
                 "/api/v2/enrollments/{enrollment_id}/interactions/", "/api/v2/me/certificates/",
                 "/api/v2/commerce/catalog"]:
        assert path in paths, path
    assert Lesson.objects.count() == 0
