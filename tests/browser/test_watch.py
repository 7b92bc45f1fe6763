"""The browser tests' own watch can fail: a console error, an uncaught error and a CSP violation are each caught."""

import pytest
from playwright.sync_api import expect


@pytest.mark.browser
def test_console_errors_uncaught_errors_and_csp_violations_are_reported(browser):
    page = browser.open("/")
    expect(page.locator("main")).to_be_visible()
    page.evaluate("() => console.error('something broke')")
    page.evaluate("() => setTimeout(() => { throw new Error('thrown later'); }, 0)")
    # An inline script, which the site's Content-Security-Policy must refuse.
    page.evaluate("""() => { const s = document.createElement("script"); s.textContent = "window.ran = 1";
                             document.body.append(s); }""")
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.ran") is None  # the policy held
    found = "\n".join(browser.problems)
    assert "console error" in found and "something broke" in found, found
    assert "uncaught error" in found and "thrown later" in found, found
    assert "CSP violation: script-src" in found, found
    browser.problems.clear()  # seen: this test is about the watch, not about the page
