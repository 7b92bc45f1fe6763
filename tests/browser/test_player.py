"""The course player in a real browser: a learner opens a course, completes a lesson, the progress bar moves."""

import pytest
from playwright.sync_api import expect

from tests.learning.factories import EnrollmentFactory, LessonFactory, LmsUserFactory


@pytest.fixture
def enrollment(site):
    enrollment = EnrollmentFactory(user=LmsUserFactory(email="player@example.com"))
    for position in (1, 2):
        LessonFactory(course=enrollment.course, position=position, title=f"Lesson {position}")
    return enrollment


@pytest.mark.browser
def test_a_learner_completes_a_lesson_and_sees_the_progress_bar_move(browser, enrollment):
    page = browser.open("/lms/", lms_user=enrollment.user)
    expect(page.locator("[data-testid=enrollment-card]")).to_have_count(1)
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url(f"{browser.base_url}/lms/courses/{enrollment.course_id}/")
    bar = page.locator("[data-testid=course-progress]")
    expect(bar).to_have_attribute("value", "0")
    url_before = page.url
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    page.locator("[data-testid=mark-done]").click()
    expect(bar).to_have_attribute("value", "50")  # htmx swapped it in
    expect(page.locator("[data-testid=progress-text]")).to_contain_text("1 of 2 lessons")
    expect(page.locator("[data-testid=lesson-done]")).to_be_visible()
    assert page.url == url_before and navigations == []  # no full reload
    assert enrollment.user.lesson_completions.count() == 1
