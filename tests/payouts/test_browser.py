"""The payee's pages at phone width in a real browser: nothing wider than the screen (tables scroll in their box)."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from tests.browser.conftest import browser, buy, course_with_split, site  # noqa: F401 (fixtures)
from tests.identity.factories import UserFactory
from tests.learning.conftest import identity_is_real

PHONE = {"width": 375, "height": 740}
PAGES = ["/payouts/", "/payouts/ledger/", "/payouts/history/", "/payouts/statements/", "/payouts/settings/",
         "/lms/earnings/"]


@pytest.mark.browser
@pytest.mark.skipif(not identity_is_real(), reason="needs the identity app's pages and providers")
def test_the_payee_pages_fit_a_phone_screen(browser):  # noqa: F811
    from learning.models import LmsUser

    call_command("seed_demo", stdout=StringIO())
    # Which demo courses the demo learner buys (and was already enrolled in) varies with the seed's
    # order, so one sale here makes sure My earnings has a share to show.
    course = course_with_split(title="Phone-width course", instructor_email="instructor@example.com",
                               creator_email="creator@example.com")
    buy(UserFactory(email="phone-buyer@example.com"), course)
    payee = get_user_model().objects.get(email="instructor@example.com")
    lms_user = LmsUser.objects.filter(commerce_user_id=str(payee.pk)).first()
    assert lms_user is not None  # the demo instructor is linked in the LMS, so /lms/earnings/ shows their shares
    page = browser.open("", user=payee, lms_user=lms_user)
    page.set_viewport_size(PHONE)
    for path in PAGES:
        page.goto(browser.base_url + path)
        assert page.locator("h1").first.is_visible(), path
        overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{path} is {overflow}px wider than a phone screen"
        if path == "/lms/earnings/":
            assert page.locator("[data-testid=earnings-shares]").is_visible()
    assert "Python for Beginners" in page.goto(browser.base_url + "/payouts/").text()
    assert not browser.problems, browser.problems
