"""``manage.py reconcile sales``: every paid order line against the payouts ledger's sales and refunds, through
``OrdersPort.paid_lines`` and ``PayoutsPort.ledger_sales``. Every app is real; messages go through the outbox."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone

from integration import registry
from integration.errors import ServerError
from integration.models import OutboxMessage
from integration.reconcile_sales import sales_reconcile
from integration.topics import Topic
from orders.models import OrderLine
from payouts.models import LedgerPosting
from tests.integration.faults import (
    Flaky,
    assert_zero_differences,
    buy,
    people,
    publish_course,
    reconcile_all,
    reconcile_fails,
    refund,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def past_the_window(settings):
    """Every sale compared at once (nothing is young enough to be in flight)."""
    settings.ENTITLEMENT_RESEND_AFTER_MINUTES = 0


@pytest.fixture
def bought(api_client):
    who = people()
    courses = [publish_course(title=f"Sold {n}") for n in range(3)]
    return who, [buy(api_client, who["learner"], course) for course in courses]


def _revenue_events(order_id: str) -> list[OutboxMessage]:
    return [message for message in OutboxMessage.objects.filter(topic=Topic.REVENUE_EVENTS).order_by("id")
            if message.payload["events"][0]["orderId"] == order_id]


def test_clean_purchases_are_no_difference_and_the_walk_is_one_query_a_page(bought, past_the_window,
                                                                              django_assert_max_num_queries):
    _, orders = bought
    assert LedgerPosting.objects.filter(kind="sale", order_id__in=orders).count() == 3
    with django_assert_max_num_queries(8):  # one query a page on each side (3 + 1 each), none per line
        report = sales_reconcile(page_size=1)
    assert (report.first.order_lines, report.first.ledger_sales, report.first.in_flight) == (3, 3, 0)
    assert (report.first.differences, report.fixed, report.final.differences) == ([], [], [])
    out = reconcile_all()
    assert "3 paid order line(s) against 3 sale(s) and 0 refund(s) in the payouts ledger" in out, out
    assert_zero_differences(out)


def test_a_refunded_purchase_with_its_refund_posted_is_no_difference(api_client, past_the_window):
    who = people()
    order_id = buy(api_client, who["learner"], publish_course(title="Given back"))
    refund(api_client, order_id)
    assert LedgerPosting.objects.filter(kind="refund", order_id=order_id).count() == 1
    report = sales_reconcile()
    assert (report.first.ledger_sales, report.first.ledger_refunds, report.first.differences) == (1, 1, [])


def test_a_share_held_until_completion_is_posted_with_its_sale_and_no_difference(api_client, past_the_window):
    from payouts.models import RevenueLedgerEntry
    from revenue.services.configs import ConfigChange, revenue_config_set

    who = people()
    course = publish_course(title="Held until completion")
    revenue_config_set(product_type="course", external_id=str(course.id), now=timezone.now(), change=ConfigChange(
        instructor_split=Decimal("0.30"), creator_split=Decimal("0.40"), platform_split=Decimal("0.30"),
        instructor_email="fault-teacher@example.com", creator_email="fault-author@example.com",
        release_policy="on_completion"))
    order_id = buy(api_client, who["learner"], course)
    held = RevenueLedgerEntry.objects.filter(order_id=order_id, account="payee_held")
    assert held.count() == 2  # the instructor's and the creator's shares wait for completion, in the ledger
    report = sales_reconcile()
    assert (report.first.ledger_sales, report.first.differences) == (1, [])


def test_a_sale_still_travelling_inside_the_window_is_in_flight_not_a_difference(api_client):
    who = people()
    ledger = Flaky(Topic.REVENUE_EVENTS, ServerError("Commerce's ledger is down."))
    buy(api_client, who["learner"], publish_course(title="On its way"))
    assert ledger.calls >= 1 and not LedgerPosting.objects.filter(kind="sale").exists()
    report = sales_reconcile()
    assert (report.first.in_flight, report.first.differences) == (1, [])


@pytest.mark.parametrize("lost", ["dead_letter", "deleted"])
def test_a_lost_revenue_event_is_reported_unfixed(api_client, past_the_window, lost):
    who = people()
    Flaky(Topic.REVENUE_EVENTS, ServerError("Commerce's ledger is down."))
    order_id = buy(api_client, who["learner"], publish_course(title="Lost on the way"))
    (message,) = _revenue_events(order_id)
    if lost == "dead_letter":
        OutboxMessage.objects.filter(pk=message.pk).update(status=OutboxMessage.Status.DEAD)
    else:
        OutboxMessage.objects.filter(pk=message.pk).delete()
    out = reconcile_fails("sales")
    assert "UNFIXED sale_missing" in out and "no sale for it is in the payouts ledger" in out, out
    if lost == "dead_letter":
        assert f"DEAD LETTER revenue.events message {message.message_id}" in out, out
    else:
        assert "NOTHING WAITING" in out, out
    assert "1 difference(s) found, 0 fixed, 1 left" in out, out
    assert not LedgerPosting.objects.filter(order_id=order_id).exists()


def test_a_pending_revenue_event_is_delivered_and_the_sale_fixed(api_client, past_the_window):
    who = people()
    ledger = Flaky(Topic.REVENUE_EVENTS, ServerError("Commerce's ledger is down."))
    order_id = buy(api_client, who["learner"], publish_course(title="Late to the ledger"))
    (message,) = _revenue_events(order_id)
    assert message.status == "pending"
    ledger.down = False
    out = reconcile_all("sales")
    assert "FOUND sale_missing" in out and "FIXED" in out and "sent the waiting revenue.events again now" in out, out
    assert "1 difference(s) found, 1 fixed, 0 left" in out, out
    assert LedgerPosting.objects.filter(kind="sale", order_id=order_id).count() == 1
    assert_zero_differences(reconcile_all())


def test_a_refunded_lines_missing_refund_debit_is_reported(api_client, past_the_window):
    who = people()
    order_id = buy(api_client, who["learner"], publish_course(title="Refund lost"))
    assert LedgerPosting.objects.filter(kind="sale", order_id=order_id).count() == 1
    Flaky(Topic.REVENUE_EVENTS, ServerError("Commerce's ledger is down."))
    refund(api_client, order_id)
    sale, refunded = _revenue_events(order_id)
    assert (sale.status, refunded.status, refunded.payload["events"][0]["type"]) == ("delivered", "pending", "refund")
    OutboxMessage.objects.filter(pk=refunded.pk).update(status=OutboxMessage.Status.DEAD)
    out = reconcile_fails("sales")
    assert "UNFIXED refund_missing" in out and "is not in the payouts ledger" in out, out
    assert f"DEAD LETTER revenue.events message {refunded.message_id}" in out, out
    assert not LedgerPosting.objects.filter(kind="refund", order_id=order_id).exists()


def test_a_refund_debit_still_pending_is_delivered_and_fixed(api_client, past_the_window):
    who = people()
    order_id = buy(api_client, who["learner"], publish_course(title="Refund late"))
    ledger = Flaky(Topic.REVENUE_EVENTS, ServerError("Commerce's ledger is down."))
    refund(api_client, order_id)
    ledger.down = False
    out = reconcile_all("sales")
    assert "FOUND refund_missing" in out and "1 fixed, 0 left" in out, out
    assert LedgerPosting.objects.filter(kind="refund", order_id=order_id).count() == 1


def test_a_sale_for_no_paid_line_and_a_second_sale_of_one_line_are_differences(bought, past_the_window):
    from integration.contracts.payouts import RevenueEvent, RevenueSplit
    from payouts.services.events import revenue_events_post

    who, orders = bought
    posting = LedgerPosting.objects.get(kind="sale", order_id=orders[0])
    now = timezone.now()

    def sale(event_id: str, order_id: str) -> RevenueEvent:
        return RevenueEvent(event_id=event_id, type="course_sale", order_id=order_id,
                            product_external_id=posting.product_id, total_amount=Decimal("10.00"), currency="USD",
                            occurred_at=now, splits=(RevenueSplit(payee_user_id=str(who["creator"].id),
                                                                  amount=Decimal("10.00"), reason="creator_share"),))

    never_sold = "00000000-0000-0000-0000-00000000beef"
    results = revenue_events_post(events=[sale("ev-never-sold", never_sold), sale("ev-twice", orders[0])], now=now,
                                  orders_vouched={never_sold: "USD", orders[0]: "USD"})
    assert [result.status for result in results] == ["processed", "processed"]
    out = reconcile_fails("sales")
    assert "UNFIXED unpaid_sale: the ledger's sale ev-never-sold" in out and "which is no paid order line" in out, out
    assert "UNFIXED duplicate_sale" in out and "ev-twice" in out, out
    assert "0 fixed, 2 left" in out, out


def test_a_sale_posted_for_another_amount_than_the_line_earns_is_a_difference(bought, past_the_window):
    _, orders = bought
    OrderLine.objects.filter(order_id=orders[1]).update(tax=F("tax") + Decimal("1.00"))  # behind the services' back
    out = reconcile_fails("sales")
    assert "UNFIXED sale_amount" in out and "the line earns" in out, out


def test_the_demo_history_is_counted_apart(past_the_window):
    registry.get_provider("seed.identity")(stdout=io.StringIO())
    registry.get_provider("seed.payouts")(stdout=io.StringIO())
    report = sales_reconcile()
    assert (report.first.demo_sales, report.first.ledger_sales, report.first.differences) == (6, 0, [])


def test_the_ledger_is_read_over_signed_http_when_split(bought, past_the_window, live_server, settings):
    """The ledger's sales come through ``PayoutsPort`` over HTTP (service token, the route table's path)."""
    from identity.models import SERVICE_SCOPES
    from integration.errors import ApplicationError
    from integration.ports.payouts import payouts_port
    from tests.identity.factories import ServiceClientFactory

    ServiceClientFactory(client_id="reconcile-sales", scopes=list(SERVICE_SCOPES))
    settings.SERVICE_CLIENT_ID, settings.SERVICE_CLIENT_SECRET = "reconcile-sales", "s3cret-s3cret-s3cret"
    settings.INTEGRATION_FORCE_HTTP = True
    settings.COMMERCE_BASE_URL = settings.LMS_BASE_URL = live_server.url
    from payouts.providers import LocalPayouts

    local = LocalPayouts().ledger_sales(limit=2)
    port = payouts_port()
    assert type(port).__name__ == "HttpPayoutsPort"
    first = port.ledger_sales(limit=2)
    assert len(first.sales) == 2 and first.next_cursor and first == local  # the same answer, to the microsecond
    assert all(isinstance(sale.gross_amount, Decimal) and sale.gross_amount > 0 for sale in first.sales)
    with pytest.raises(ApplicationError) as refused:
        port.ledger_sales(after="not-a-cursor")
    assert refused.value.status_code == 400
    report = sales_reconcile(page_size=2)
    assert (report.first.order_lines, report.first.ledger_sales, report.final.differences) == (3, 3, [])


def test_old_enough_means_paid_before_the_window(api_client, settings):
    """Inside the window a missing sale waits; past it (time moved on), it is reported."""
    who = people()
    Flaky(Topic.REVENUE_EVENTS, ServerError("Commerce's ledger is down."))
    buy(api_client, who["learner"], publish_course(title="Window"))
    later = timezone.now() + timedelta(minutes=settings.ENTITLEMENT_RESEND_AFTER_MINUTES + 1)
    assert sales_reconcile().first.in_flight == 1
    report = sales_reconcile(now=later)
    assert [difference.kind for difference in report.final.differences] == ["sale_missing"]
