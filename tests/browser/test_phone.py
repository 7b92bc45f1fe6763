"""The buyer's pages at a phone's width (390 x 844): none is wider than the screen (a page that scrolls sideways
hides part of itself), from the catalog to the receipt, the account pages and the course player."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import buy, course_with_split, sso_switched_on
from tests.identity.factories import UserFactory
from tests.learning.conftest import identity_is_real

PHONE = {"width": 390, "height": 844}
TITLE = "Browser-phone Bookbinding for Absolute Beginners"


def _overflow(page) -> int:
    """How many pixels the page is wider than the screen (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.browser
@pytest.mark.skipif(not identity_is_real(), reason="needs the identity app's pages and providers")
def test_the_buyers_pages_fit_a_phone(browser, site):
    sso_switched_on()
    UserFactory(email="browser-binder@example.com")
    UserFactory(email="browser-folder@example.com")
    course = course_with_split(title=TITLE, instructor_email="browser-binder@example.com",
                               creator_email="browser-folder@example.com")
    # An address with no place to break: the email page lists it with its badges (they ran past the screen).
    buyer = UserFactory(email="browserphonebuyerlongaddress@example.com", verified=True)
    order_id = buy(buyer, course)
    page = browser.open("/", user=buyer, viewport=PHONE)
    wide = {}
    for path in ("/", "/cart/", "/orders/", f"/orders/{order_id}/", f"/orders/{order_id}/receipt/",
                 f"/orders/{order_id}/refund/", "/account/", "/account/email/", "/account/data/"):
        page.goto(f"{browser.base_url}{path}")
        if (pixels := _overflow(page)) > 0:
            wide[path] = pixels
    page.goto(f"{browser.base_url}/")
    page.get_by_role("link", name=TITLE).first.click()
    expect(page.locator("[data-testid=add-to-cart]")).to_be_visible()
    if (pixels := _overflow(page)) > 0:
        wide["the product page"] = pixels
    page.goto(f"{browser.base_url}/orders/{order_id}/")
    page.locator("[data-testid=my-courses]").click()
    page.wait_for_url(f"{browser.base_url}/lms/")
    for name in ("My courses", "the player"):
        if (pixels := _overflow(page)) > 0:
            wide[name] = pixels
        if name == "My courses":
            page.get_by_role("link", name="Continue").first.click()
            expect(page.locator("[data-testid=lesson]")).to_be_visible()
    assert wide == {}, f"wider than a 390 px screen (pixels): {wide}"
