"""The commerce-admin's sales overview (/orders/sales/): who may see it, the numbers per day and per product (each
currency on its own, Decimal to the cent), the chart's data in the page, filters, bad input, an empty period, and
statements that do not grow with the orders, days or products shown."""

import json
import re
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from freezegun import freeze_time

from orders.models import Order, OrderLine, OrderStatus, Refund
from orders.services.refunds import refund_create
from tests.browser.conftest import browser, site  # noqa: F401 (the browser journeys' fixtures)
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/orders/sales/"
TODAY = timezone.localdate()


def _at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=timezone.get_current_timezone())


def _order(*, day: date, currency: str = "USD", lines=(("p1", "Course One", "199.00", "5.80"),),
           status: str = OrderStatus.COMPLETED) -> Order:
    """A paid order on ``day``; each line (product id, name, total, processor fee)."""
    at = _at(day)
    total = sum((Decimal(line[2]) for line in lines), Decimal(0))
    order = Order.objects.create(number=f"T-{uuid.uuid4().hex[:10]}", user_id=uuid.uuid4(), status=status,
                                 currency=currency, subtotal=total, total=total, gateway="test",
                                 processor_fee=sum((Decimal(line[3]) for line in lines), Decimal(0)),
                                 created_at=at, updated_at=at, paid_at=at)
    for position, (product_id, name, amount, fee) in enumerate(lines):
        OrderLine.objects.create(order=order, position=position, product_id=product_id, product_type="course",
                                 external_id=f"course-{product_id}", name=name, unit_price=Decimal(amount),
                                 subtotal=Decimal(amount), total=Decimal(amount), processor_fee=Decimal(fee))
    return order


def _refund(order: Order, amount: str, *, day: date) -> Refund:
    line = order.lines.order_by("position").first()
    line.refunded_amount += Decimal(amount)
    line.save(update_fields=["refunded_amount"])
    Order.objects.filter(pk=order.pk).update(refunded_amount=Decimal(amount), status=OrderStatus.PARTIALLY_REFUNDED)
    return Refund.objects.create(order=order, amount=Decimal(amount), currency=order.currency, reason="test",
                                 initiator=Refund.Initiator.ADMIN, actor="admin:tests",
                                 idempotency_key=uuid.uuid4().hex, created_at=_at(day, 15))


def _chart(html: str) -> dict:
    found = re.search(r'<script id="sales-chart-data" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the chart's data is in the page"
    return json.loads(found.group(1))


def _series(chart: dict, kind: str) -> dict:
    values = next(series["values"] for series in chart["series"] if series["kind"] == kind)
    return dict(zip(chart["labels"], values, strict=True))


@pytest.fixture(autouse=True)
def _the_clock_on_today(request):
    """``TODAY`` is read once, at import: the clock is held from its noon (ticking), so a run that crosses
    midnight still has the page's default period end on ``TODAY``. Not for the browser test (a live server)."""
    if request.node.get_closest_marker("browser"):
        yield
        return
    with freeze_time(_at(TODAY), tick=True):
        yield


@pytest.fixture
def admin_client(client, commerce_admin):
    client.force_login(commerce_admin)
    return client


def test_a_visitor_is_sent_to_log_in_and_a_buyer_is_refused(client, buyer):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/account/login/?next=/orders/sales/")
    client.force_login(buyer)
    response = client.get(URL)
    assert response.status_code == 403
    assert "Gross" not in response.content.decode()


def test_a_staff_member_without_the_role_is_refused_and_a_superuser_may_look(client):
    client.force_login(UserFactory(verified=True, is_staff=True))
    assert client.get(URL).status_code == 403
    client.force_login(UserFactory(verified=True, is_superuser=True, is_staff=True))
    assert client.get(URL).status_code == 200


def test_sales_refunds_and_net_per_day_each_currency_on_its_own(admin_client):
    sale_day, refund_day = TODAY - timedelta(days=3), TODAY - timedelta(days=1)
    sold = _order(day=sale_day, lines=(("p1", "Course One", "199.00", "5.80"), ("p2", "Course Two", "50.00", "1.45")))
    _order(day=sale_day, lines=(("p2", "Course Two", "50.00", "1.45"),))
    _refund(sold, "49.99", day=refund_day)
    _order(day=sale_day, currency="EUR", lines=(("p1", "Course One", "180.00", "5.00"),))
    _order(day=TODAY - timedelta(days=40))  # before the default 30 days

    html = admin_client.get(URL + "?currency=USD").content.decode()
    chart = _chart(html)
    assert chart["currency"] == "USD" and len(chart["labels"]) == 30 and chart["labels"][-1] == TODAY.isoformat()
    gross, refunds, net = _series(chart, "gross"), _series(chart, "refunds"), _series(chart, "net")
    assert gross[sale_day.isoformat()] == "299.00"  # the EUR order is not added to the dollars
    assert refunds[refund_day.isoformat()] == "49.99" and refunds[sale_day.isoformat()] == "0.00"
    assert net[sale_day.isoformat()] == "299.00" and net[refund_day.isoformat()] == "-49.99"
    assert all(isinstance(value, str) for series in chart["series"] for value in series["values"])
    assert sum(Decimal(value) for value in gross.values()) == Decimal("299.00")
    totals = re.search(r'data-testid="sales-totals">(.*?)</dl>', html, re.S).group(1)
    assert "$299.00" in totals and "$49.99" in totals and "$249.01" in totals
    assert '<option value="EUR">EUR</option>' in html and '<option value="USD" selected>' in html
    products = re.search(r'data-testid="sales-products">(.*?)</table>', html, re.S).group(1)
    rows = re.findall(r"<tr><td>(.*?)</td>(.*?)</tr>", products, re.S)
    assert [name for name, _ in rows] == ["Course One", "Course Two"]
    one = re.findall(r'<td class="num">(.*?)</td>', rows[0][1])
    two = re.findall(r'<td class="num">(.*?)</td>', rows[1][1])
    assert one == ["1", "$199.00", "$49.99", "$149.01", "$5.80"]  # units, gross, refunded, net, fees
    assert two == ["2", "$100.00", "$0.00", "$100.00", "$2.90"]

    euros = admin_client.get(URL + "?currency=eur").content.decode()
    assert _series(_chart(euros), "gross")[sale_day.isoformat()] == "180.00"
    assert "€180.00" in euros and "$" not in re.search(r'data-testid="sales-products">(.*?)</table>', euros, re.S)[1]


def test_a_checkout_and_a_refund_through_the_services_show_on_their_days(admin_client, buyer, buy, lms):
    order = buy(buyer, "p1", "p2")
    refund_create(order_id=order.pk, reason="changed my mind", initiator=Refund.Initiator.ADMIN,
                  actor="admin:tests", now=timezone.now(), line_ids=[order.lines.get(product_id="p2").pk])
    html = admin_client.get(URL).content.decode()
    chart = _chart(html)
    today = timezone.localdate(order.paid_at).isoformat()
    assert _series(chart, "gross")[today] == str(order.total.quantize(Decimal("0.01")))
    assert _series(chart, "refunds")[today] == "50.00"
    assert Decimal(_series(chart, "net")[today]) == order.total - Decimal("50.00")


def test_the_period_search_and_pages(admin_client):
    for number in range(25):
        _order(day=TODAY - timedelta(days=number % 5),
               lines=((f"x{number:02}", f"Workshop {number:02}", f"{100 - number}.00", "1.00"),))
    _order(day=TODAY - timedelta(days=2), lines=(("py", "Python basics", "10.00", "0.59"),))

    first = admin_client.get(URL).content.decode()
    assert "Page 1 of 2" in first and "Workshop 00" in first and "Workshop 24" not in first
    second = admin_client.get(URL + "?page=2").content.decode()
    assert "Workshop 24" in second and "Python basics" in second and "Workshop 00" not in second

    found = admin_client.get(URL + "?q=python").content.decode()
    assert "Python basics" in found and "Workshop" not in found and "Page 1 of" not in found
    assert "No product whose name contains “nothing”" in admin_client.get(URL + "?q=nothing").content.decode()

    start = (TODAY - timedelta(days=1)).isoformat()
    narrow = admin_client.get(f"{URL}?start={start}&end={TODAY.isoformat()}").content.decode()
    chart = _chart(narrow)
    assert chart["labels"] == [start, TODAY.isoformat()]
    assert "Python basics" not in narrow and "Page 1 of 1" not in narrow  # 10 workshops: one page


@pytest.mark.parametrize("query, message", [
    ("start=2026-03-10&end=2026-03-01", "first day comes after its last"),
    ("start=2020-01-01&end=2026-01-01", "at most 366 days"),
    ("start=not-a-date", "Enter a valid date"),
    ("currency=1%C2%B2x", "three letters"),
    ("currency=TOOLONG", "at most 3 characters"),
])
def test_bad_filters_are_a_400_with_the_reason(admin_client, query, message):
    response = admin_client.get(f"{URL}?{query}")
    assert response.status_code == 400 and message in response.content.decode()
    assert "sales-chart-data" not in response.content.decode()


def test_a_junk_page_number_shows_a_page(admin_client):
    _order(day=TODAY)
    assert admin_client.get(URL + "?page=junk").status_code == 200
    assert admin_client.get(URL + "?page=99999").status_code == 200


def test_a_period_with_no_sales_says_so_and_draws_no_chart(admin_client):
    _order(day=TODAY - timedelta(days=60))
    html = admin_client.get(URL).content.decode()
    assert "No sales and no refunds" in html
    assert "sales-chart-data" not in html and "<canvas" not in html and "chart-4.6.1" not in html
    other = admin_client.get(URL + "?currency=JPY").content.decode()
    assert "No sales and no refunds in JPY" in other and "No product sold in this period." in other


def test_the_chart_is_served_from_our_static_files(admin_client):
    _order(day=TODAY)
    html = admin_client.get(URL).content.decode()
    assert '<canvas id="sales-chart" data-chart-source="sales-chart-data"' in html
    assert "/static/vendor/chart-4.6.1.umd.min.js" in html and "/static/js/charts.js" in html
    assert "cdn" not in html.lower()


def test_the_statements_do_not_grow_with_orders_days_or_products(admin_client, django_assert_max_num_queries):
    _order(day=TODAY)
    with django_assert_max_num_queries(12) as few:
        assert admin_client.get(URL).status_code == 200
    for number in range(40):
        order = _order(day=TODAY - timedelta(days=number % 29), currency=("USD", "EUR")[number % 2],
                       lines=((f"p{number}", f"Course {number}", "20.00", "0.88"),
                              (f"q{number}", f"Book {number}", "5.00", "0.20")))
        if number % 3 == 0:
            _refund(order, "5.00", day=TODAY - timedelta(days=number % 7))
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = admin_client.get(URL + "?currency=USD").content.decode()
    assert "Page 1 of 3" in html  # 41 products in dollars


def test_the_orders_admin_links_to_the_sales_page(admin_client):
    html = admin_client.get("/admin/orders/order/").content.decode()
    assert 'href="/orders/sales/"' in html


PHONE = {"width": 390, "height": 844}


@pytest.mark.browser
def test_on_a_phone_the_chart_is_drawn_and_the_page_fits(browser):  # noqa: F811 (the fixture imported above)
    from identity.models import Role, UserRole

    admin = UserFactory(verified=True)
    UserRole.objects.create(user=admin, role=Role.COMMERCE_ADMIN, granted_by="system:tests")
    sold = _order(day=TODAY - timedelta(days=2), lines=(("p1", "A course with a rather long name for a phone",
                                                         "199.00", "5.80"),))
    _refund(sold, "20.00", day=TODAY)
    page = browser.open(URL, user=admin, viewport=PHONE)
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('sales-chart'))")
    chart = page.evaluate("""() => {
      const chart = Chart.getChart(document.getElementById("sales-chart"));
      return {labels: chart.data.labels.length, sets: chart.data.datasets.map((set) => [set.type, set.data]),
              width: chart.width, height: chart.height};
    }""")
    assert chart["labels"] == 30 and 300 < chart["width"] <= 390 and chart["height"] > 200, chart
    assert [kind for kind, _ in chart["sets"]] == ["bar", "bar", "line"]
    assert 199 in chart["sets"][0][1] and 20 in chart["sets"][1][1]
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert browser.problems == []
