"""The course player in a real browser: a learner opens a course, completes a lesson, the progress bar moves."""

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore

from learning.sessions import SESSION_KEY
from tests.learning.factories import EnrollmentFactory, LessonFactory, LmsUserFactory

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def learner_in_a_course(transactional_db, live_server, monkeypatch, settings):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    learner = LmsUserFactory(email="player@example.com")
    enrollment = EnrollmentFactory(user=learner)
    for position in (1, 2):
        LessonFactory(course=enrollment.course, position=position, title=f"Lesson {position}")
    session = SessionStore()
    session[SESSION_KEY] = str(learner.pk)
    session.create()
    return live_server.url, session.session_key, enrollment


@pytest.mark.browser
def test_a_learner_completes_a_lesson_and_sees_the_progress_bar_move(learner_in_a_course):
    from playwright.sync_api import expect, sync_playwright

    base, session_key, enrollment = learner_in_a_course
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_key, "url": base}])
            page = context.new_page()
            page.set_default_timeout(20_000)
            page.goto(f"{base}/lms/")
            expect(page.locator("[data-testid=enrollment-card]")).to_have_count(1)
            page.get_by_role("link", name="Continue").click()
            page.wait_for_url(f"{base}/lms/courses/{enrollment.course_id}/")
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
        finally:
            browser.close()
    assert enrollment.user.lesson_completions.count() == 1
