"""The browser journeys: Debian's chromium through Playwright (``executable_path``, never a downloaded browser)
against a live test server.

Each test opens its pages through the ``browser`` fixture. At the end of every test (passed or failed) the last
page opened (or the one named by ``end_on``) is saved as ``var/test-artifacts/screenshots/<test name>.png`` (the README's "Tests" names the folder,
``.ci/run`` prints it), and a test that passed fails after all if any page it opened logged a console error, threw
an uncaught error or reported a Content-Security-Policy violation.
"""

import contextlib
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.utils import timezone
from playwright.sync_api import sync_playwright
from rest_framework.test import APIClient

from identity.services.tokens import token_pair_issue
from integration.ports.identity import identity_port
from learning.selectors import identity_phase_forget
from learning.services.catalog import course_create, course_publish, department_create
from learning.sessions import SESSION_KEY
from revenue.services.configs import ConfigChange, revenue_config_set

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "test-artifacts" / "screenshots"
TIMEOUT_MS = 20_000

# Registered on every page before its own scripts run: the page reports each CSP violation to the test.
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolation(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
                        + ` at ${event.sourceFile || event.documentURI}:${event.lineNumber}`);
});
"""


class Browser:
    """One chromium for one test; ``open()`` gives a page in a fresh context (its own cookies), signed in as asked."""
    def __init__(self, chromium, base_url: str):
        self._chromium = chromium
        self.base_url = base_url
        self.problems: list[str] = []
        self._allowed: list[re.Pattern] = []
        self._last = None

    def open(self, path: str = "/", *, user=None, lms_user=None, viewport: dict | None = None):
        context = self._chromium.new_context(viewport=viewport or {"width": 1280, "height": 900})
        if user is not None or lms_user is not None:
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": signed_in_session(user, lms_user),
                                  "url": self.base_url}])
        context.on("console", self._console)
        context.on("weberror", lambda error: self.problems.append(f"uncaught error: {error.error}"))
        context.expose_binding("__cspViolation", lambda source, text: self.problems.append(f"CSP violation: {text}"))
        context.add_init_script(_CSP_LISTENER)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        self._last = page
        if path:
            page.goto(self.base_url + path)
        return page

    def end_on(self, page) -> None:
        """The page the end-of-test screenshot shows (by default the one opened last)."""
        self._last = page

    def allow_console_error(self, pattern: str) -> None:
        """An error the journey expects (say, the 403 of a page it must no longer open); anything else still fails."""
        self._allowed.append(re.compile(pattern))

    def _console(self, message) -> None:
        if message.type != "error":
            return
        text = f"console error on {message.page.url if message.page else '?'}: {message.text}"
        if not any(pattern.search(message.text) for pattern in self._allowed):
            self.problems.append(text)

    def screenshot(self, name: str) -> Path | None:
        if self._last is None:
            return None
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
        self._last.screenshot(path=str(path), full_page=True)
        return path


def signed_in_session(user=None, lms_user=None) -> str:
    """A database session key logged in at the store as ``user`` and/or in the LMS as ``lms_user`` (as after SSO)."""
    session = SessionStore()
    if user is not None:
        client = Client()
        client.force_login(user)
        session = SessionStore(client.cookies[settings.SESSION_COOKIE_NAME].value)
    if lms_user is not None:
        session[SESSION_KEY] = str(lms_user.pk)
    session.save()
    return session.session_key


@pytest.fixture
def site(transactional_db, live_server, settings, monkeypatch):
    """The live server, with both sides' URLs pointing at it and the built-in test gateway."""
    # Playwright's sync API keeps an event loop in this thread; the ORM calls here are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.LMS_BASE_URL = settings.COMMERCE_BASE_URL = live_server.url
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    settings.STRIPE_SECRET_KEY = ""
    identity_phase_forget()
    return live_server.url


@pytest.fixture
def browser(site):
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield Browser(chromium, site)
        finally:
            chromium.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    browser = item.funcargs.get("browser") if hasattr(item, "funcargs") else None
    if not isinstance(browser, Browser):
        return (yield)
    try:
        result = yield
    except BaseException:
        with contextlib.suppress(Exception):  # the test's own error is the one to report
            browser.screenshot(item.name)  # what the page showed when it failed
        raise
    browser.screenshot(item.name)
    assert not browser.problems, "the pages reported problems:\n" + "\n".join(browser.problems)
    return result


# --- the data the journeys start from -------------------------------------------------------------------------


def sso_switched_on() -> None:
    """Identity migration phase 2 or later: the store's login reaches the LMS by SSO (seed_demo does it too)."""
    for phase in range(identity_port().phase().phase + 1, 3):
        identity_port().set_phase(phase=phase, reason="browser test: the SSO bridge")
    identity_phase_forget()


def course_with_split(*, title: str, instructor_email: str, creator_email: str, price: str = "120.00",
                      requires_approval: bool = False, publish: bool = True):
    """An LMS course with a revenue split (instructor 30 %, creator 40 %, platform 30 %), published unless asked."""
    now = timezone.now()
    department = department_create(name=f"{title} department")
    course = course_create(department=department, title=title, description="Taught in the browser tests.",
                           suggested_price=Decimal(price), currency="USD", now=now)
    if requires_approval:
        course.requires_approval = True
        course.save(update_fields=["requires_approval"])
    revenue_config_set(product_type="course", external_id=str(course.id), now=now, change=ConfigChange(
        instructor_split=Decimal("0.30"), creator_split=Decimal("0.40"), platform_split=Decimal("0.30"),
        instructor_email=instructor_email, creator_email=creator_email))
    if publish:
        course = course_publish(course=course, now=now)
    return course


def buy(buyer, course) -> str:
    """``buyer`` buys ``course`` through the store's API with the test gateway's good card; the order's id."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=buyer).access}")
    (product,) = [p for p in client.get("/api/v1/catalog/products/", {"q": course.title}).json()["results"]
                  if p["externalId"] == str(course.id)]
    added = client.post("/api/v1/cart/items/", {"productId": product["id"]}, format="json")
    assert added.status_code in (200, 201), added.content
    checkout = client.post("/api/v1/checkout/", {}, format="json")
    assert checkout.status_code in (200, 201), checkout.content
    order_id = checkout.json()["orderId"]
    paid = client.post(f"/api/v1/checkout/{order_id}/pay/", {"paymentMethod": "pm_card_visa"}, format="json")
    assert paid.status_code == 200, paid.content
    return order_id
