"""The payee's dashboard in a real browser (``/payouts/``): balances, and the earnings chart drawn by Chart.js from
``static/vendor`` (no inline script, so no CSP violation) with the bars of the demo instructor's sales."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from tests.learning.conftest import identity_is_real

EARNED_COLOUR = (0x34, 0x51, 0xD1)  # static/payouts/dashboard.js: the "Earned" bars

# True once the canvas holds pixels of the "Earned" colour: the bars were painted, not only the axes.
_BARS_PAINTED = """([r, g, b]) => {
  const canvas = document.getElementById("earnings-chart");
  if (!canvas || !canvas.width || !canvas.height) return false;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 0; i < pixels.length; i += 4) {
    if (pixels[i + 3] > 200 && Math.abs(pixels[i] - r) < 8 && Math.abs(pixels[i + 1] - g) < 8
        && Math.abs(pixels[i + 2] - b) < 8) return true;
  }
  return false;
}"""


@pytest.fixture
def payee(site):
    call_command("seed_demo", stdout=StringIO())  # six sales and a payout for the demo instructor
    return get_user_model().objects.get(email="instructor@example.com")


@pytest.mark.browser
@pytest.mark.skipif(not identity_is_real(), reason="needs the identity app's pages and providers")
def test_the_payee_sees_balances_and_the_earnings_chart_drawn(browser, payee):
    page = browser.open("/", user=payee)
    page.locator("[data-testid=earnings]").click()
    page.wait_for_url(f"{browser.base_url}/payouts/")
    expect(page.locator("h1")).to_have_text("Your earnings")
    expect(page.locator("[data-testid=available]")).to_contain_text("$")
    expect(page.locator("[data-testid=pending]")).to_contain_text("$")

    canvas = page.locator("canvas#earnings-chart")
    expect(canvas).to_be_visible()
    box = canvas.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100, box
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('earnings-chart'))")
    chart = page.evaluate("""() => {
      const chart = Chart.getChart(document.getElementById("earnings-chart"));
      return {type: chart.config.type, labels: chart.data.labels.length,
              earned: chart.data.datasets[0].data, width: chart.width, height: chart.height};
    }""")
    assert chart["type"] == "bar" and chart["labels"] > 0 and chart["width"] > 0 and chart["height"] > 0, chart
    assert any(value > 0 for value in chart["earned"]), chart
    page.wait_for_function(_BARS_PAINTED, arg=list(EARNED_COLOUR))
