"""The purchase in a real browser: browse, add to cart, pay with the test gateway, see the order completed and the
course in "My courses"."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from tests.learning.conftest import identity_is_real

EMAIL, PASSWORD = "browser-buyer@example.com", "a-browser-pass-1"
COURSE = "Accounting Basics"  # a demo course the demo learner does not own


@pytest.fixture
def store(site):
    call_command("seed_demo", stdout=StringIO())  # LMS courses, published into the catalog, priced
    get_user_model().objects.create_user(email=EMAIL, password=PASSWORD)
    return site


@pytest.mark.browser
@pytest.mark.skipif(not identity_is_real(), reason="needs the identity app's pages and providers")
def test_browse_add_to_cart_pay_and_find_the_course_in_my_courses(browser, store):
    page = browser.open("/")
    page.get_by_role("link", name=COURSE).first.click()
    page.locator("[data-testid=add-to-cart] button").click()
    page.wait_for_url(f"{store}/cart/")
    expect(page.locator("[data-testid=cart-items]")).to_contain_text(COURSE)

    page.get_by_role("link", name="Log in to check out").click()
    page.fill("input[name=login]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit], form input[type=submit]").last.click()
    page.wait_for_url(f"{store}/checkout/")
    expect(page.locator("main")).to_contain_text(COURSE)  # the anonymous cart joined the account's
    page.locator("[data-testid=place-order]").click()

    expect(page.locator(".test-gateway")).to_contain_text("Test gateway")
    page.locator("input[value=pm_card_visa]").check()
    page.locator("[data-testid=pay]").click()
    expect(page.locator("[data-testid=order-status]")).to_contain_text("Completed")
    expect(page.locator("[data-testid=entitlement-1]")).to_have_text("Enrolled")

    page.locator("[data-testid=my-courses]").click()
    page.wait_for_url(f"{store}/lms/")
    expect(page.locator("[data-testid=my-enrollments]")).to_contain_text(COURSE)
