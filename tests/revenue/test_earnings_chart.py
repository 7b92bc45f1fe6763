"""My earnings' chart (/lms/earnings/): earned, refunded and net per course, one chart per currency, from the rows
the per-course table shows; only the signed-in payee's own shares; no chart when there is nothing to draw; the
statements do not grow with the courses."""

import json
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from revenue.models import RevenueConfig
from revenue.services.lifecycle import lifecycle_event_record
from tests.browser.conftest import browser, site  # noqa: F401 (the browser journeys' fixtures)
from tests.learning.factories import CourseFactory, LmsUserFactory
from tests.revenue.conftest import activated
from tests.revenue.factories import config_set
from tests.revenue.test_api import lms_login

pytestmark = pytest.mark.django_db

URL = "/lms/earnings/"


def _sell(course, *, amount: str, currency: str = "USD", refund: str | None = None, title: str = "") -> None:
    """A sale of ``course`` paying the instructor 30 % of the gross, and optionally a refund of part of it."""
    if not RevenueConfig.objects.filter(external_id=str(course.pk)).exists():
        config_set(external_id=str(course.pk), instructor_email="teach@example.com", basis="gross",
                   title=title or course.title)
    now = timezone.now()
    payload = activated(course_id=str(course.pk), activated_at=now, amount=amount, currency=currency, fee=None)
    lifecycle_event_record(idempotency_key=f"a:{payload['enrollmentId']}", event="enrollment.activated",
                           payload=payload, now=now)
    if refund:
        lifecycle_event_record(idempotency_key=f"r:{payload['enrollmentId']}", event="enrollment.revoked", now=now,
                               payload={**payload, "reason": "refund", "refundAmount": Decimal(refund),
                                        "currency": currency})


def _charts(html: str) -> dict[str, dict]:
    found = re.findall(r'<script id="(earnings-chart-[a-z]+)" type="application/json">(.*?)</script>', html, re.S)
    return {element_id: json.loads(data) for element_id, data in found}


def _series(chart: dict, kind: str) -> dict:
    values = next(series["values"] for series in chart["series"] if series["kind"] == kind)
    return dict(zip(chart["labels"], values, strict=True))


@pytest.fixture
def teacher(client, people):
    user = LmsUserFactory(commerce_user_id=str(people["instructor"].pk), email="teach@example.com")
    lms_login(client, user)
    return user


def test_a_visitor_is_sent_to_the_lms_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/lms/sso/?next=/lms/earnings/")


def test_earned_refunded_and_net_per_course_one_chart_per_currency(client, teacher):
    data_science, statistics = CourseFactory(title="Data science"), CourseFactory(title="Statistics")
    _sell(data_science, amount="200.00", refund="100.00")
    _sell(statistics, amount="50.00")
    _sell(data_science, amount="50.00", currency="EUR")
    html = client.get(URL).content.decode()
    charts = _charts(html)
    assert set(charts) == {"earnings-chart-usd", "earnings-chart-eur"}
    dollars, euros = charts["earnings-chart-usd"], charts["earnings-chart-eur"]
    assert dollars["currency"] == "USD" and euros["currency"] == "EUR" and dollars["indexAxis"] == "y"
    assert _series(dollars, "earned") == {"Data science": "60.00", "Statistics": "15.00"}
    assert _series(dollars, "refunded") == {"Data science": "30.00", "Statistics": "0.00"}
    assert _series(dollars, "net") == {"Data science": "30.00", "Statistics": "15.00"}
    assert _series(euros, "earned") == {"Data science": "15.00"}  # not added to the dollars
    assert '<canvas id="earnings-chart-usd-canvas" data-chart-source="earnings-chart-usd"' in html
    assert "Per course, in USD" in html and "Per course, in EUR" in html
    assert "/static/vendor/chart-4.6.1.umd.min.js" in html and "/static/js/charts.js" in html
    # The same figures as the table beside it.
    table = html[html.index('data-testid="earnings-by-course"'):html.index("</table>")]
    assert "$60.00" in table and "$30.00" in table and "€15.00" in table


def test_one_currency_has_one_chart_without_a_currency_heading(client, teacher):
    _sell(CourseFactory(title="Data science"), amount="100.00")
    html = client.get(URL).content.decode()
    assert list(_charts(html)) == ["earnings-chart-usd"] and "Per course</h2>" in html


def test_another_instructors_earnings_are_not_shown(client, people):
    _sell(CourseFactory(title="Data science"), amount="200.00")
    lms_login(client, LmsUserFactory(commerce_user_id=str(people["other"].pk), email="other@example.com"))
    html = client.get(URL).content.decode()
    assert "Data science" not in html and _charts(html) == {}
    assert "No sale has paid you a share yet." in html
    assert "<canvas" not in html and "chart-4.6.1" not in html


def test_an_lms_account_without_a_store_account_sees_why_and_no_chart(client, people):
    _sell(CourseFactory(title="Data science"), amount="200.00")
    lms_login(client, LmsUserFactory(commerce_user_id=None, email="new@example.com"))
    html = client.get(URL).content.decode()
    assert "not linked to a store account" in html and "<canvas" not in html


def test_the_statements_do_not_grow_with_the_courses(client, teacher, django_assert_max_num_queries):
    _sell(CourseFactory(title="Course 0"), amount="10.00")
    with django_assert_max_num_queries(12) as few:
        assert client.get(URL).status_code == 200
    for number in range(1, 8):
        _sell(CourseFactory(title=f"Course {number}"), amount="10.00", currency=("USD", "EUR", "JPY")[number % 3],
              refund="5.00" if number % 2 else None)
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(URL).content.decode()
    assert set(_charts(html)) == {"earnings-chart-usd", "earnings-chart-eur", "earnings-chart-jpy"}
    assert _series(_charts(html)["earnings-chart-jpy"], "earned")["Course 2"] == "3"  # yen have no minor unit


@pytest.mark.browser
def test_on_a_phone_the_chart_is_drawn_and_the_page_fits(browser, people):  # noqa: F811 (the fixture imported above)
    teacher = LmsUserFactory(commerce_user_id=str(people["instructor"].pk), email="teach@example.com")
    for number in range(3):
        _sell(CourseFactory(title=f"Introduction to subject number {number}"), amount=f"{100 + number}.00",
              refund="50.00" if number == 1 else None)
    page = browser.open(URL, lms_user=teacher, viewport={"width": 390, "height": 844})
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('earnings-chart-usd-canvas'))")
    chart = page.evaluate("""() => {
      const chart = Chart.getChart(document.getElementById("earnings-chart-usd-canvas"));
      return {labels: chart.data.labels, axis: chart.options.indexAxis, earned: chart.data.datasets[0].data,
              width: chart.width, height: chart.height};
    }""")
    earned = dict(zip(chart["labels"], chart["earned"], strict=True))
    assert chart["axis"] == "y" and earned == pytest.approx(
        {f"Introduction to subject number {n}": 30 + n * 0.3 for n in range(3)})
    assert 300 < chart["width"] <= 390 and chart["height"] > 150, chart
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert browser.problems == []
