"""The revenue-config editor in a real browser: the live sum of the shares (static JS, no inline script)."""

from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore

from revenue.models import RevenueConfig
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.learning.factories import CourseFactory, LmsUserFactory


@pytest.fixture
def editor(transactional_db, live_server, monkeypatch, people):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    course = CourseFactory(title="Browser course")
    admin = LmsUserFactory(user_types=["staff", "global-admin"])
    session = SessionStore()
    session["_lms_user_id"] = str(admin.pk)
    session.create()
    return live_server.url, course, session.session_key


@pytest.mark.browser
def test_the_editor_shows_the_running_sum_and_saves_a_valid_split(editor):
    from playwright.sync_api import expect, sync_playwright

    base, course, session_key = editor
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_key,
                                  "domain": urlparse(base).hostname, "path": "/"}])
            page = context.new_page()
            page.set_default_timeout(20_000)
            page.goto(f"{base}/lms/revenue/course/{course.pk}/")
            total = page.locator("[data-share-sum]")
            page.fill("input[name=instructor_split]", "0.3")
            page.fill("input[name=creator_split]", "0.4")
            page.fill("input[name=platform_split]", "0.2")
            expect(total).to_contain_text("sum to 0.9000")
            expect(total).to_have_class("share-sum invalid")
            page.fill("input[name=platform_split]", "0.3")
            expect(total).to_have_text("The shares sum to 1.")
            page.fill("input[name=creator_email]", "make@example.com")
            page.locator("[data-testid=revenue-config-form] button[type=submit]").click()
            expect(page.locator("[data-testid=revenue-current]")).to_contain_text("make@example.com")
        finally:
            browser.close()
    assert RevenueConfig.objects.get().creator_bps == 4000
