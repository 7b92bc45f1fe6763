"""Two pays of one order charge once; two refunds of one order pass once (PostgreSQL row locks, real threads)."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from integration.errors import ApplicationError
from integration.models import OutboxMessage
from orders.gateways.test import TestGateway
from orders.models import Order, OrderStatus, Payment, Refund
from orders.models import TestGatewayIntent as GatewayIntent
from orders.services.carts import cart_get_or_create, cart_item_add
from orders.services.checkout import checkout_create
from orders.services.payments import order_pay
from orders.services.refunds import refund_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _together(count: int, work) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except ApplicationError as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def slow_gateway(monkeypatch):
    """The processor takes a moment, so the second request arrives while the first is charging."""
    charge, refund = TestGateway.charge, TestGateway.refund

    def slow_charge(self, **kwargs):
        time.sleep(0.3)
        return charge(self, **kwargs)

    def slow_refund(self, **kwargs):
        time.sleep(0.3)
        return refund(self, **kwargs)

    monkeypatch.setattr(TestGateway, "charge", slow_charge)
    monkeypatch.setattr(TestGateway, "refund", slow_refund)


def _pending_order(user) -> Order:
    now = timezone.now()
    cart_item_add(cart=cart_get_or_create(user_id=user.pk, now=now), product_id="p1", user_id=user.pk, now=now)
    return checkout_create(user_id=user.pk, now=now)


def test_two_checkouts_at_once_make_one_order(buyer, products):
    now = timezone.now()
    cart_item_add(cart=cart_get_or_create(user_id=buyer.pk, now=now), product_id="p1", user_id=buyer.pk, now=now)
    results = _together(2, lambda _: checkout_create(user_id=buyer.pk, now=timezone.now()).pk)
    assert results[0] == results[1] and Order.objects.count() == 1


def test_two_pays_at_once_charge_once(buyer, products, lms, slow_gateway):
    order = _pending_order(buyer)
    results = _together(2, lambda _: order_pay(order_id=order.pk, user_id=buyer.pk, now=timezone.now(),
                                               payment_method="pm_card_visa").order.status)
    # Both callers see the order paid: still "paid", or already "completed" when the first pay's in-process
    # delivery of the grant has been answered by the time the second caller reads it.
    assert set(results) <= {OrderStatus.PAID, OrderStatus.COMPLETED} and len(results) == 2
    assert GatewayIntent.objects.count() == 1  # one charge at the processor
    assert Payment.objects.filter(order=order).count() == 1
    assert OutboxMessage.objects.filter(aggregate_key=f"order:{order.pk}", topic="entitlement").count() == 1


def test_two_refunds_at_once_pass_once(buyer, products, lms, slow_gateway):
    order = _pending_order(buyer)
    order_pay(order_id=order.pk, user_id=buyer.pk, now=timezone.now(), payment_method="pm_card_visa")
    results = _together(2, lambda index: refund_create(
        order_id=order.pk, reason=f"refund {index}", initiator=Refund.Initiator.ADMIN, actor="admin:test",
        now=timezone.now()))
    passed = [result for result in results if isinstance(result, Refund)]
    refused = [result for result in results if isinstance(result, ApplicationError)]
    assert len(passed) == 1 and len(refused) == 1 and refused[0].code == "not_refundable"
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("199.00") and order.status == OrderStatus.REFUNDED
    assert GatewayIntent.objects.get().refunded == Decimal("199.00")


def test_a_coupons_total_limit_holds_under_concurrent_checkouts():
    """Two buyers, one use left: the real catalog's coupon row lock lets one checkout through."""
    from catalog.models import Coupon
    from orders import remote
    from tests.catalog.factories import CouponFactory, ProductFactory
    from tests.identity.factories import UserFactory

    remote.use_catalog(None)
    product = ProductFactory()
    CouponFactory(code="LAST", percent_off=Decimal("20"), max_redemptions=1, max_per_user=None)
    buyers = [UserFactory(), UserFactory()]
    now = timezone.now()
    for user in buyers:
        cart_item_add(cart=cart_get_or_create(user_id=user.pk, now=now), product_id=str(product.pk),
                      user_id=user.pk, now=now)
    results = _together(2, lambda index: checkout_create(user_id=buyers[index].pk, now=timezone.now(),
                                                         coupon_code="LAST"))
    made = [result for result in results if isinstance(result, Order)]
    refused = [result for result in results if isinstance(result, ApplicationError)]
    assert len(made) == 1 and len(refused) == 1 and refused[0].code == "coupon_exhausted"
    assert Coupon.objects.get(code="LAST").times_redeemed == 1 and Order.objects.count() == 1


def test_the_processors_refund_event_during_our_own_refund_records_it_once(buyer, products, lms, monkeypatch):
    """Stripe sends refund.created while our refund request still holds the order: it waits, then finds ours."""
    from orders.gateways.base import GatewayRefund
    from orders.services.refunds import refund_record_external

    order = _pending_order(buyer)
    order_pay(order_id=order.pk, user_id=buyer.pk, now=timezone.now(), payment_method="pm_card_visa")
    payment = Payment.objects.get(order=order, status=Payment.Status.SUCCEEDED)
    charged = threading.Event()

    def refund_at_the_processor(self, **kwargs):
        charged.set()  # the processor has refunded (and sent its event); our transaction is not committed yet
        time.sleep(0.5)
        return GatewayRefund(refund_id="re_same")

    monkeypatch.setattr(TestGateway, "refund", refund_at_the_processor)

    def work(index):
        if index == 0:
            return refund_create(order_id=order.pk, reason="ours", initiator=Refund.Initiator.ADMIN,
                                 actor="admin:test", now=timezone.now(), amount=Decimal("50.00"))
        charged.wait(timeout=10)
        return refund_record_external(payment=payment, gateway_refund_id="re_same", amount=Decimal("50.00"),
                                      now=timezone.now(), source="stripe:refund.created")

    ours, event = _together(2, work)
    assert isinstance(ours, Refund) and event.startswith("duplicate")
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("50.00") and order.refunds.count() == 1
