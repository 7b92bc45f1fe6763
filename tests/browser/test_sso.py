"""The SSO handoff in a real browser: log in at the store, click "My courses", land in the LMS logged in."""

import pytest
from django.contrib.auth import get_user_model

from integration.ports.identity import identity_port
from learning.models import LmsUser
from learning.selectors import identity_phase_forget
from tests.learning.conftest import identity_is_real

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
EMAIL, PASSWORD = "browser-learner@example.com", "a-browser-pass-1"


@pytest.fixture
def sso_ready(transactional_db, live_server, settings, monkeypatch):
    # Playwright's sync API keeps an event loop in this thread; the ORM calls here are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.LMS_BASE_URL = settings.COMMERCE_BASE_URL = live_server.url
    for phase in range(identity_port().phase().phase + 1, 3):
        identity_port().set_phase(phase=phase, reason="browser test: the SSO bridge")
    identity_phase_forget()
    get_user_model().objects.create_user(email=EMAIL, password=PASSWORD)
    return live_server.url


@pytest.mark.browser
@pytest.mark.skipif(not identity_is_real(), reason="needs the identity app's pages and providers")
def test_store_login_then_my_courses_lands_in_the_lms_logged_in(sso_ready):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(20_000)
            page.goto(f"{sso_ready}/account/login/")
            page.fill("input[name=login]", EMAIL)
            page.fill("input[name=password]", PASSWORD)
            page.locator("form button[type=submit], form input[type=submit]").last.click()

            my_courses = page.locator("[data-testid=my-courses]")  # shown to a logged-in user only
            expect(my_courses).to_be_visible()
            my_courses.click()
            page.wait_for_url(f"{sso_ready}/lms/")

            expect(page.locator("[data-testid=lms-user-email]")).to_have_text(EMAIL)
            assert "token=" not in page.url
            expect(page.locator("h1")).to_have_text("My courses")
        finally:
            browser.close()
    lms_user = LmsUser.objects.get(email=EMAIL)
    assert lms_user.commerce_user_id == str(get_user_model().objects.get(email=EMAIL).pk)
