"""The buyer's refund request in a real browser (``/orders/{id}/refund/``): the course opens in the LMS, the buyer
asks for a refund, the order shows refunded and the course no longer opens."""

import pytest
from playwright.sync_api import expect

from learning.models import Enrollment
from tests.browser.conftest import buy, course_with_split, sso_switched_on
from tests.identity.factories import UserFactory
from tests.learning.conftest import identity_is_real

TITLE = "Browser-refunded Pottery"


@pytest.fixture
def bought(site):
    sso_switched_on()
    UserFactory(email="browser-potter@example.com")
    UserFactory(email="browser-glazer@example.com")
    course = course_with_split(title=TITLE, instructor_email="browser-potter@example.com",
                               creator_email="browser-glazer@example.com")
    buyer = UserFactory(email="browser-regret@example.com")
    return buyer, buy(buyer, course), course


@pytest.mark.browser
@pytest.mark.skipif(not identity_is_real(), reason="needs the identity app's pages and providers")
def test_the_buyer_asks_for_a_refund_sees_it_refunded_and_loses_access(browser, bought):
    buyer, order_id, course = bought
    page = browser.open(f"/orders/{order_id}/", user=buyer)
    expect(page.locator("[data-testid=order-status]")).to_contain_text("Completed")
    page.locator("[data-testid=my-courses]").click()
    page.wait_for_url(f"{browser.base_url}/lms/")
    expect(page.locator("[data-testid=my-enrollments]")).to_contain_text(TITLE)  # it opens before the refund

    page.goto(f"{browser.base_url}/orders/{order_id}/")
    page.get_by_role("link", name="Request a refund").click()
    page.wait_for_url(f"{browser.base_url}/orders/{order_id}/refund/")
    expect(page.get_by_role("checkbox", name=TITLE)).to_be_checked()
    page.fill("textarea[name=reason]", "Not what I expected.")
    page.get_by_role("button", name="Refund").click()
    page.wait_for_url(f"{browser.base_url}/orders/{order_id}/")
    expect(page.locator(".messages")).to_contain_text("Your refund is on its way")
    expect(page.locator("[data-testid=order-status]")).to_contain_text("Refunded")
    expect(page.locator("[data-testid=entitlement-1]")).to_have_text("Access removed")
    expect(page.get_by_role("link", name="Request a refund")).to_have_count(0)
    assert Enrollment.objects.get(course=course).status == "revoked"

    page.locator("[data-testid=my-courses]").click()
    page.wait_for_url(f"{browser.base_url}/lms/")
    expect(page.locator("main")).not_to_contain_text(TITLE)
    browser.allow_console_error(r"status of 403")  # the player's answer to someone without an enrollment
    page.goto(f"{browser.base_url}/lms/courses/{course.pk}/")
    expect(page.locator("main")).to_contain_text("You have no active enrollment that opens this course")
