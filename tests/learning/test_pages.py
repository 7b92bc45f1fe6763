"""The LMS pages: my courses and the player (bounded queries, htmx progress), certificates, teach and admin areas."""

import re

import pytest
from django.utils import timezone

from learning.models import Enrollment, LessonCompletion, Membership
from learning.services.progress import lesson_complete
from tests.learning.conftest import lms_login
from tests.learning.factories import (
    CourseFactory,
    CourseStaffFactory,
    EnrollmentFactory,
    ExamFactory,
    LessonFactory,
    LmsUserFactory,
    MembershipFactory,
    QuestionFactory,
    department,
)

pytestmark = pytest.mark.django_db


def _course_with(lessons: int):
    course = CourseFactory()
    for n in range(lessons):
        LessonFactory(course=course, position=n + 1)
    QuestionFactory(exam=ExamFactory(course=course))
    return course


def test_my_courses_needs_a_login(client):
    response = client.get("/lms/")
    assert response.status_code == 302 and response["Location"] == "/lms/sso/"
    deep = client.get("/lms/certificates/")
    assert deep["Location"] == "/lms/sso/?next=%2Flms%2Fcertificates%2F"


@pytest.mark.parametrize("enrollments", [1, 12])
def test_my_courses_shows_progress_bars_with_bounded_queries(client, enrollments, django_assert_max_num_queries):
    user = LmsUserFactory()
    for _ in range(enrollments):
        enrollment = EnrollmentFactory(user=user, course=_course_with(3))
        lesson_complete(enrollment=enrollment, lesson=enrollment.course.lessons.first(), user=user,
                        now=timezone.now())
    lms_login(client, user)
    with django_assert_max_num_queries(10):
        response = client.get("/lms/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="enrollment-card"') == enrollments
    assert 'value="33"' in html and "1 of 3 lessons" in html


def test_my_courses_links_only_what_opens_and_counts_in_plain_english(client):
    user = LmsUserFactory()
    active = EnrollmentFactory(user=user, course=_course_with(1))
    pending = EnrollmentFactory(user=user, course=_course_with(2), status="pending")
    lms_login(client, user)
    html = client.get("/lms/").content.decode()
    assert "0 of 1 lesson ·" in html and "0 of 2 lessons ·" in html
    assert f'href="/lms/enrollments/{active.pk}/"' in html
    # The pending enrollment's page answers 403 (nothing opens yet): its card says so and links nowhere.
    assert f"/lms/enrollments/{pending.pk}/" not in html and pending.course.title in html
    assert client.get(f"/lms/enrollments/{pending.pk}/", follow=True).status_code == 403
    player = client.get(f"/lms/courses/{active.course_id}/").content.decode()
    assert "0 of 1 lesson done" in player
    web = department("Web")
    course = _course_with(0)  # its exam: 2 attempts, 1 question
    course.department = web
    course.save()
    lms_login(client, MembershipFactory(department=web, role="content-admin").user)
    assert "2 attempts · 1 question</li>" in client.get(f"/lms/teach/courses/{course.pk}/").content.decode()


@pytest.mark.parametrize("lessons", [2, 30])
def test_the_player_makes_a_bounded_number_of_queries(client, lessons, django_assert_max_num_queries):
    enrollment = EnrollmentFactory(course=_course_with(lessons))
    lms_login(client, enrollment.user)
    with django_assert_max_num_queries(14):
        response = client.get(f"/lms/courses/{enrollment.course_id}/")
    assert response.status_code == 200
    assert response.content.decode().count("?lesson=") == lessons


def test_marking_a_lesson_done_with_htmx_returns_the_new_progress(client):
    enrollment = EnrollmentFactory(course=_course_with(2))
    lesson = enrollment.course.lessons.order_by("position").first()
    lms_login(client, enrollment.user)
    response = client.post(f"/lms/courses/{enrollment.course_id}/lessons/{lesson.pk}/done/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'hx-swap-oob="true"' in html and 'value="50"' in html and "1 of 2 lessons" in html
    assert LessonCompletion.objects.filter(user=enrollment.user, lesson=lesson).exists()
    plain = client.post(f"/lms/courses/{enrollment.course_id}/lessons/{lesson.pk}/done/")
    assert plain.status_code == 302  # without htmx: a normal form post


def test_the_player_refuses_someone_not_enrolled(client):
    course = _course_with(1)
    lms_login(client, LmsUserFactory())
    assert client.get(f"/lms/courses/{course.pk}/").status_code == 403
    lesson = course.lessons.get()
    assert client.post(f"/lms/courses/{course.pk}/lessons/{lesson.pk}/done/").status_code == 404


def test_an_exam_page_submits_an_attempt(client):
    enrollment = EnrollmentFactory(course=_course_with(0))
    exam = enrollment.course.exams.get()
    question = exam.questions.get()
    lms_login(client, enrollment.user)
    assert client.get(f"/lms/exams/{exam.pk}/").status_code == 200
    response = client.post(f"/lms/exams/{exam.pk}/", {f"q-{question.pk}": "1"})
    assert response.status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.status == "completed"  # no lessons, one exam passed
    certificate = enrollment.certificates.get()
    page = client.get(f"/certificates/{certificate.code}/")
    assert page.status_code == 200 and certificate.code in page.content.decode()
    assert client.get("/lms/certificates/").status_code == 200
    assert client.get("/certificates/NOPE-NOPE-NOPE/").status_code == 404


def test_the_certificate_pdf_is_made_from_the_same_template(client):
    enrollment = EnrollmentFactory(course=_course_with(0))
    exam = enrollment.course.exams.get()
    from learning.services.progress import exam_attempt_submit

    exam_attempt_submit(user=enrollment.user, exam=exam, answers={str(exam.questions.get().pk): 1},
                        now=timezone.now())
    code = enrollment.certificates.get().code
    response = client.get(f"/certificates/{code}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_the_approval_queue_bulk_approves_only_inside_the_admins_departments(client):
    web, data = department("Web"), department("Data")
    admin = MembershipFactory(department=web, role="department-admin").user
    mine = EnrollmentFactory(course=CourseFactory(department=web, requires_approval=True), status="pending")
    theirs = EnrollmentFactory(course=CourseFactory(department=data, requires_approval=True), status="pending")
    lms_login(client, admin)
    page = client.get("/lms/admin/approvals/?q=" + mine.user.email)
    assert page.status_code == 200 and mine.user.email in page.content.decode()
    assert theirs.user.email not in client.get("/lms/admin/approvals/").content.decode()
    response = client.post("/lms/admin/approvals/bulk/", {"action": "approve",
                                                          "enrollment": [str(mine.pk), str(theirs.pk)]})
    assert response.status_code == 302
    assert Enrollment.objects.get(pk=mine.pk).status == "active"
    assert Enrollment.objects.get(pk=theirs.pk).status == "pending"


def test_admin_pages_answer_in_the_department_and_refuse_a_sibling(client):
    root = department("University")
    web, data = department("Web", root), department("Data", root)
    CourseFactory(department=web, title="Web course")
    admin = MembershipFactory(department=web, role="department-admin").user
    lms_login(client, admin)
    home = client.get("/lms/admin/")
    assert home.status_code == 200 and "Web" in home.content.decode()
    for part in ("memberships", "courses", "programs", "classes"):
        assert client.get(f"/lms/admin/departments/{web.pk}/{part}/").status_code == 200
        assert client.get(f"/lms/admin/departments/{data.pk}/{part}/").status_code == 403
    assert "Web course" in client.get(f"/lms/admin/departments/{web.pk}/courses/?q=web").content.decode()
    added = client.post(f"/lms/admin/departments/{web.pk}/memberships/",
                        {"email": LmsUserFactory(email="new@example.com").email, "role": "instructor"})
    assert added.status_code == 302 and Membership.objects.filter(user__email="new@example.com").exists()
    created = client.post(f"/lms/admin/departments/{web.pk}/courses/", {
        "title": "Fresh", "suggested_price": "10.00", "currency": "USD"})
    assert created.status_code == 302


def test_the_import_page_runs_a_dry_run(client):
    web = department("Web")
    course = CourseFactory(department=web)
    LmsUserFactory(email="known@example.com")
    lms_login(client, MembershipFactory(department=web, role="department-admin").user)
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("rows.csv", f"email,courseId\nknown@example.com,{course.pk}\n".encode())
    response = client.post("/lms/admin/import/", {"file": upload, "dry_run": "on"})
    assert response.status_code == 200 and "Dry run" in response.content.decode()
    assert not Enrollment.objects.exists()


def test_the_teach_area_lists_learners_and_records_an_interaction(client):
    staff = CourseStaffFactory()
    enrollment = EnrollmentFactory(course=staff.course, instructor=staff.user)
    EnrollmentFactory()  # another course: not listed
    lms_login(client, staff.user)
    page = client.get("/lms/teach/")
    assert page.status_code == 200 and page.content.decode().count('data-testid="learner-row"') == 1
    response = client.post(f"/lms/teach/enrollments/{enrollment.pk}/interactions/",
                           {"kind": "discussion_reply", "quantity": "1"})
    assert response.status_code == 302 and enrollment.interactions.count() == 1
    refused = client.post(f"/lms/teach/enrollments/{enrollment.pk}/interactions/",
                          {"kind": "manual_verification", "quantity": "1"})
    assert refused.status_code == 403  # an instructor cannot verify manually
    assert client.get("/lms/teach/grading/").status_code == 200
    assert client.get(f"/lms/teach/courses/{staff.course_id}/").status_code == 403  # instructors do not edit


def test_content_editing_saves_through_the_services(client, outbox):
    from integration.topics import Topic

    web = department("Web")
    course = CourseFactory(department=web, title="Old title")
    lms_login(client, MembershipFactory(department=web, role="content-admin").user)
    page = client.get(f"/lms/teach/courses/{course.pk}/")
    assert page.status_code == 200 and "Old title" in page.content.decode()
    saved = client.post(f"/lms/teach/courses/{course.pk}/", {
        "action": "details", "title": "New title", "description": "", "suggested_price": "199.00",
        "currency": "USD"})
    assert saved.status_code == 302
    assert [m["products"][0]["name"] for m in outbox(Topic.CATALOG_SYNC)] == ["New title"]
    added = client.post(f"/lms/teach/courses/{course.pk}/", {"action": "lesson", "title": "Intro", "body": "Hi"})
    assert added.status_code == 302 and course.lessons.get().title == "Intro"
    lesson = course.lessons.get()
    assert client.get(f"/lms/teach/lessons/{lesson.pk}/").status_code == 200
    created = client.post(f"/lms/admin/departments/{web.pk}/classes/", {
        "course": str(course.pk), "title": "Spring", "starts_at": "2027-03-01T18:00", "ends_at": "2027-05-01T18:00",
        "capacity": "20", "schedule": "Tuesdays"})
    assert created.status_code == 302 and course.classes.get().capacity == 20
    assert client.get(f"/lms/admin/departments/{web.pk}/classes/?q=spring").status_code == 200


def test_the_lms_nav_links_the_revenue_pages_for_staff_only(client):
    learner = LmsUserFactory()
    EnrollmentFactory(user=learner)
    lms_login(client, learner)
    page = client.get("/lms/").content.decode()
    assert 'href="/lms/"' in page and 'href="/lms/earnings/"' not in page and 'href="/lms/revenue/"' not in page
    staff = CourseStaffFactory().user
    staff.user_types = ["staff"]
    staff.save()
    lms_login(client, staff)
    page = client.get("/lms/").content.decode()
    assert ">My earnings</a>" in page and 'href="/lms/earnings/"' in page
    assert ">Revenue splits</a>" in page and 'href="/lms/revenue/"' in page
    assert 'href="/lms/admin/"' not in page  # course staff only, no department membership
    lms_login(client, MembershipFactory(role="department-admin").user)
    assert 'href="/lms/admin/"' in client.get("/lms/").content.decode()
    assert client.get("/lms/earnings/").status_code == 200


def _lms_links_that_fail(client, start: list[str], *, limit: int = 80) -> list[str]:
    """Follows every /lms/ link the pages show from ``start`` (GET, as a browser would); those answering 4xx/5xx."""
    seen, queue, failed = set(), list(start), []
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path, follow=True)
        if response.status_code >= 400:
            failed.append(f"{path} -> {response.status_code} (linked from {start if path in start else 'a page'})")
            continue
        html = response.content.decode()
        for href in re.findall(r'<a [^>]*href="(/lms/[^"?#]*)"', html):
            if href not in seen and not href.startswith(("/lms/logout", "/lms/sso")):
                queue.append(href)
    return failed


@pytest.mark.parametrize("role", ["instructor", "content-creator", "department-instructor", "pending-learner"])
def test_every_lms_link_a_page_shows_opens_for_the_person_it_is_shown_to(client, role):
    """The LMS's pages link only what opens for whoever sees them (the demo's instructor was shown the CSV import,
    memberships, the course's edit page from the exam builder; its creator "Open the player": all 403)."""
    web = department("Web")
    course = _course_with(2)
    course.department = web
    course.save()
    if role == "pending-learner":
        user = EnrollmentFactory(course=course, status="pending").user
    elif role == "department-instructor":
        user = MembershipFactory(department=web, role="instructor").user
    else:
        user = CourseStaffFactory(course=course, role=role).user
    lms_login(client, user)
    assert _lms_links_that_fail(client, ["/lms/", "/lms/teach/", "/lms/admin/"]) == []
    player = client.get(f"/lms/courses/{course.pk}/")
    if role == "pending-learner":
        assert player.status_code == 403  # nothing opens before the approval
    else:  # the course's staff preview it: no progress recorded, no exam taken
        html = player.content.decode()
        assert player.status_code == 200 and 'data-testid="player-preview"' in html
        assert 'data-testid="mark-done"' not in html and "/lms/exams/" not in html
