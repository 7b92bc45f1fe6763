"""The SSO handoff in a real browser: log in at the store, click "My courses", land in the LMS logged in."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from learning.models import LmsUser
from tests.browser.conftest import sso_switched_on
from tests.learning.conftest import identity_is_real

EMAIL, PASSWORD = "browser-learner@example.com", "a-browser-pass-1"


@pytest.fixture
def sso_ready(site):
    sso_switched_on()
    get_user_model().objects.create_user(email=EMAIL, password=PASSWORD)
    return site


@pytest.mark.browser
@pytest.mark.skipif(not identity_is_real(), reason="needs the identity app's pages and providers")
def test_store_login_then_my_courses_lands_in_the_lms_logged_in(browser, sso_ready):
    page = browser.open("/account/login/")
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
    lms_user = LmsUser.objects.get(email=EMAIL)
    assert lms_user.commerce_user_id == str(get_user_model().objects.get(email=EMAIL).pk)
