"""The purchase end to end through the services: cart, checkout, payment, entitlement, completion."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone
from freezegun import freeze_time

from integration.models import OutboxMessage
from orders.errors import AlreadyOwned, CardDeclined, InvalidOrderTransition
from orders.models import EntitlementStatus, Order, OrderEvent, OrderStatus, Payment
from orders.services.carts import cart_get_or_create, cart_item_add
from orders.services.checkout import checkout_create
from orders.services.payments import order_pay
from orders.services.reconcile import entitlements_reconcile
from orders.state import order_transition

pytestmark = pytest.mark.django_db


def test_paying_marks_paid_sends_the_grant_in_the_same_transaction_and_completes_on_the_answer(buyer, buy, lms):
    order = buy(buyer, "p1", deliver_now=False)
    assert order.status == OrderStatus.PAID
    message = OutboxMessage.objects.get(aggregate_key=f"order:{order.pk}")
    payload = message.payload
    assert payload["event"] == "entitlement.granted" and payload["orderId"] == str(order.pk)
    assert payload["commerceUserId"] == str(buyer.pk) and payload["email"] == buyer.email
    line = order.lines.get()
    item = payload["items"][0]
    assert item["orderItemId"] == str(line.pk) and item["externalId"] == "course-1"
    metadata = item["metadata"]
    # The design's worked example: $199.00 with the test gateway's 2.9 % + 0.30 = $6.07.
    assert metadata["amount"] == "199.0000" or Decimal(metadata["amount"]) == Decimal("199.00")
    assert Decimal(metadata["processorFee"]) == Decimal("6.07")
    assert Decimal(metadata["grossAmount"]) == Decimal("199.00")
    assert metadata["transactionId"] == order.transaction_id != ""
    assert metadata["orderItemId"] == str(line.pk) and metadata["currency"] == "USD"

    from integration.outbox import outbox_sweep

    outbox_sweep(now=timezone.now() + timedelta(seconds=1))
    order.refresh_from_db()
    line.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert line.entitlement_status == EntitlementStatus.GRANTED and line.enrollment_id == "enr-1"
    assert order.lms_user_id == f"lms-{str(buyer.pk)[:8]}"
    kinds = list(order.events.values_list("kind", flat=True))
    assert order.events.filter(message__startswith="Payment received: $199.00").exists()
    assert OrderEvent.Kind.ENTITLEMENT in kinds


def test_the_cart_is_emptied_once_paid(buyer, buy, lms):
    buy(buyer, "p1", "p2")
    assert not cart_get_or_create(user_id=buyer.pk, now=timezone.now()).items.exists()


def test_a_declined_card_fails_the_order_and_a_second_card_pays_it(buyer, products, lms, deliver):
    now = timezone.now()
    cart_item_add(cart=cart_get_or_create(user_id=buyer.pk, now=now), product_id="p1", user_id=buyer.pk, now=now)
    order = checkout_create(user_id=buyer.pk, now=now)
    with pytest.raises(CardDeclined) as declined:
        order_pay(order_id=order.pk, user_id=buyer.pk, now=now, payment_method="pm_card_chargeDeclined")
    assert declined.value.status_code == 402 and declined.value.code == "card_declined"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAYMENT_FAILED
    assert not OutboxMessage.objects.filter(aggregate_key=f"order:{order.pk}").exists()
    result = order_pay(order_id=order.pk, user_id=buyer.pk, now=now, payment_method="pm_card_visa")
    assert result.order.status == OrderStatus.PAID
    assert list(order.payments.order_by("attempt").values_list("status", flat=True)) == ["failed", "succeeded"]


def test_three_d_secure_needs_the_confirmation_step(buyer, products, lms, deliver):
    now = timezone.now()
    cart_item_add(cart=cart_get_or_create(user_id=buyer.pk, now=now), product_id="p1", user_id=buyer.pk, now=now)
    order = checkout_create(user_id=buyer.pk, now=now)
    first = order_pay(order_id=order.pk, user_id=buyer.pk, now=now, payment_method="pm_card_authenticationRequired")
    assert first.requires_action and first.client_secret
    assert first.order.status == OrderStatus.PENDING
    payment = Payment.objects.get(order=order)
    done = order_pay(order_id=order.pk, user_id=buyer.pk, now=now, payment_intent_id=payment.intent_id,
                     client_secret=first.client_secret)
    assert done.order.status == OrderStatus.PAID and not done.requires_action


def test_buying_what_one_owns_is_refused_with_409(buyer, buy, lms):
    buy(buyer, "p1")
    cart = cart_get_or_create(user_id=buyer.pk, now=timezone.now())
    with pytest.raises(AlreadyOwned) as refused:
        cart_item_add(cart=cart, product_id="p1", user_id=buyer.pk, now=timezone.now())
    assert refused.value.status_code == 409 and refused.value.code == "already_owned"


def test_a_paid_order_in_flight_counts_as_owned(buyer, buy, lms):
    lms.down = True
    buy(buyer, "p1")  # paid, the LMS has not answered
    cart = cart_get_or_create(user_id=buyer.pk, now=timezone.now())
    with pytest.raises(AlreadyOwned):
        cart_item_add(cart=cart, product_id="p1", user_id=buyer.pk, now=timezone.now())


def test_paying_an_order_for_what_another_order_paid_meanwhile_is_refused_before_any_charge(buyer, products,
                                                                                              lms):
    now = timezone.now()
    cart_item_add(cart=cart_get_or_create(user_id=buyer.pk, now=now), product_id="p1", user_id=buyer.pk, now=now)
    first = checkout_create(user_id=buyer.pk, now=now)
    second = Order.objects.create(**{field.name: getattr(first, field.name) for field in Order._meta.concrete_fields
                                     if field.name not in {"id", "number"}}, number="CL-SECOND1")
    line = first.lines.get()
    line.pk, line.order = None, second
    line.save(force_insert=True)
    order_pay(order_id=first.pk, user_id=buyer.pk, now=now, payment_method="pm_card_visa")
    with pytest.raises(AlreadyOwned) as refused:
        order_pay(order_id=second.pk, user_id=buyer.pk, now=now, payment_method="pm_card_visa")
    assert refused.value.details == {"externalIds": [line.external_id]}
    assert not second.payments.exists()
    assert order_pay(order_id=first.pk, user_id=buyer.pk, now=now, payment_method="pm_card_visa").order.status == (
        OrderStatus.PAID)


def test_an_attempt_under_way_is_reused_refused_or_after_five_minutes_abandoned(buyer, products, lms):
    from orders.errors import PaymentInProgress

    now = timezone.now()
    cart_item_add(cart=cart_get_or_create(user_id=buyer.pk, now=now), product_id="p1", user_id=buyer.pk, now=now)
    order = checkout_create(user_id=buyer.pk, now=now)

    def open_attempt(attempt: int, method: str) -> Payment:
        return Payment.objects.create(order=order, attempt=attempt, gateway=order.gateway, amount=order.total,
                                      currency=order.currency, status=Payment.Status.PROCESSING, created_at=now,
                                      updated_at=now, idempotency_key=f"order:{order.id}:attempt:{attempt}:{method}")

    under_way = open_attempt(1, "pm_card_mastercard")
    with pytest.raises(PaymentInProgress):
        order_pay(order_id=order.pk, user_id=buyer.pk, now=now + timedelta(minutes=1), payment_method="pm_card_visa")
    later = now + timedelta(minutes=6)
    paid = order_pay(order_id=order.pk, user_id=buyer.pk, now=later, payment_method="pm_card_visa")
    assert paid.order.status == OrderStatus.PAID and paid.payment.attempt == 2
    under_way.refresh_from_db()
    assert (under_way.status, under_way.failure_code, under_way.updated_at) == ("failed", "abandoned", later)

    cart_item_add(cart=cart_get_or_create(user_id=buyer.pk, now=now), product_id="p2", user_id=buyer.pk, now=now)
    order = checkout_create(user_id=buyer.pk, now=now)
    reused = open_attempt(1, "pm_card_visa")  # the same card again (a retry after a lost answer): same key
    result = order_pay(order_id=order.pk, user_id=buyer.pk, now=now, payment_method="pm_card_visa")
    assert result.order.status == OrderStatus.PAID and result.payment.pk == reused.pk
    from orders.gateways.test import test_fee

    assert (result.payment.status, result.payment.fee, result.payment.intent_id[:4]) == (
        "succeeded", test_fee(order.total, order.currency), "tpi_")
    assert list(order.payments.values_list("attempt", "status")) == [(1, "succeeded")]


def test_checkout_twice_makes_one_order(buyer, products):
    now = timezone.now()
    cart_item_add(cart=cart_get_or_create(user_id=buyer.pk, now=now), product_id="p1", user_id=buyer.pk, now=now)
    first = checkout_create(user_id=buyer.pk, now=now)
    second = checkout_create(user_id=buyer.pk, now=now)
    assert first.pk == second.pk and Order.objects.count() == 1


def test_paying_twice_charges_once(buyer, products, lms):
    now = timezone.now()
    cart_item_add(cart=cart_get_or_create(user_id=buyer.pk, now=now), product_id="p1", user_id=buyer.pk, now=now)
    order = checkout_create(user_id=buyer.pk, now=now)
    order_pay(order_id=order.pk, user_id=buyer.pk, now=now, payment_method="pm_card_visa")
    again = order_pay(order_id=order.pk, user_id=buyer.pk, now=now, payment_method="pm_card_visa")
    assert again.order.status == OrderStatus.PAID
    assert Payment.objects.filter(order=order).count() == 1
    from orders.models import TestGatewayIntent

    assert TestGatewayIntent.objects.count() == 1
    assert OutboxMessage.objects.filter(aggregate_key=f"order:{order.pk}").count() == 1


def test_pending_approval_then_approved_completes(buyer, buy, lms, client):
    from orders.services.fulfilment import enrollment_status_apply

    lms.answers["course-1"] = "pending_approval"
    order = buy(buyer, "p1")
    line = order.lines.get()
    assert line.entitlement_status == EntitlementStatus.PENDING_APPROVAL
    assert order.status == OrderStatus.PAID  # answered, but not settled: the department decides
    client.force_login(buyer)
    page = client.get(f"/orders/{order.pk}/status/")
    assert b"waiting for approval" in page.content and b"hx-trigger" not in page.content  # no polling for days
    enrollment_status_apply(enrollment_id=line.enrollment_id, event="enrollment.approved", order_id=str(order.pk),
                            order_item_id=str(line.pk), reason="", now=timezone.now())
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert order.lines.get().entitlement_status == EntitlementStatus.GRANTED


def test_the_state_machine_refuses_impossible_transitions(buyer, buy, lms):
    order = buy(buyer, "p1")
    with pytest.raises(InvalidOrderTransition):
        order_transition(order=order, to=OrderStatus.PENDING, now=timezone.now())
    with pytest.raises(InvalidOrderTransition):
        order_transition(order=order, to=OrderStatus.CANCELED, now=timezone.now())


def test_lms_down_during_the_purchase_and_back_an_hour_later_enrolls_once_and_completes(buyer, buy, lms, deliver):
    start = timezone.now()
    with freeze_time(start):
        lms.down = True
        order = buy(buyer, "p1")
        assert order.status == OrderStatus.PAID
        message = OutboxMessage.objects.get(aggregate_key=f"order:{order.pk}")
        assert message.status == OutboxMessage.Status.PENDING and message.attempts == 1
    with freeze_time(start + timedelta(minutes=30)):
        deliver()  # still down: more failed attempts
        report = entitlements_reconcile(now=timezone.now())
        assert report.checked == 1 and report.delivered_now == 1 and report.resent == 0
        line = order.lines.get()
        assert line.entitlement_status == EntitlementStatus.PENDING and "LMS server error" in line.entitlement_error
    with freeze_time(start + timedelta(hours=1, minutes=1)):
        lms.down = False
        entitlements_reconcile(now=timezone.now())
        deliver(at=timezone.now() + timedelta(hours=5))
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert order.lines.get().entitlement_status == EntitlementStatus.GRANTED
    assert len(lms.grants(order.pk)) == 1  # enrolled exactly once
    assert OutboxMessage.objects.filter(aggregate_key=f"order:{order.pk}").count() == 1


def test_reconciliation_resends_a_dead_lettered_grant(buyer, buy, lms, deliver):
    lms.down = True
    order = buy(buyer, "p1")
    OutboxMessage.objects.filter(aggregate_key=f"order:{order.pk}").update(status=OutboxMessage.Status.DEAD)
    lms.down = False
    later = timezone.now() + timedelta(minutes=11)
    report = entitlements_reconcile(now=later)
    assert report.resent == 1
    deliver(at=later + timedelta(seconds=1))
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED


def test_reconciliation_leaves_recent_grants_alone(buyer, buy, lms):
    lms.down = True
    buy(buyer, "p1")
    assert entitlements_reconcile(now=timezone.now()).checked == 0


def test_the_receipt_email_goes_after_payment(buyer, products, lms, django_capture_on_commit_callbacks):
    now = timezone.now()
    cart_item_add(cart=cart_get_or_create(user_id=buyer.pk, now=now), product_id="p1", user_id=buyer.pk, now=now)
    order = checkout_create(user_id=buyer.pk, now=now)
    with django_capture_on_commit_callbacks(execute=True):
        order_pay(order_id=order.pk, user_id=buyer.pk, now=now, payment_method="pm_card_visa")
    receipts = [m for m in mail.outbox if "receipt" in m.subject.lower()]
    assert len(receipts) == 1 and receipts[0].to == [buyer.email]
    assert "$199.00" in receipts[0].body and order.number in receipts[0].subject


def test_pending_approval_email(buyer, buy, lms, django_capture_on_commit_callbacks):
    lms.answers["course-1"] = "pending_approval"
    with django_capture_on_commit_callbacks(execute=True):
        buy(buyer, "p1")
    assert any("approval" in m.subject for m in mail.outbox)


def test_a_failed_confirmation_step_fails_the_attempt(buyer, products, lms):
    from orders.errors import AuthenticationFailed

    now = timezone.now()
    cart_item_add(cart=cart_get_or_create(user_id=buyer.pk, now=now), product_id="p1", user_id=buyer.pk, now=now)
    order = checkout_create(user_id=buyer.pk, now=now)
    first = order_pay(order_id=order.pk, user_id=buyer.pk, now=now, payment_method="pm_card_authenticationRequired")
    with pytest.raises(AuthenticationFailed):
        order_pay(order_id=order.pk, user_id=buyer.pk, now=now, payment_intent_id=first.payment.intent_id,
                  client_secret="wrong")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAYMENT_FAILED
    assert not OutboxMessage.objects.filter(aggregate_key=f"order:{order.pk}").exists()


def test_the_timeline_reads_as_plain_sentences(buyer, products, lms, deliver):
    """The buyer reads these on the order page: no 'item(s)', no '..', money as everywhere else."""
    now = timezone.now()
    cart = cart_get_or_create(user_id=buyer.pk, now=now)
    for product_id in ("p1", "p2"):
        cart_item_add(cart=cart, product_id=product_id, user_id=buyer.pk, now=now)
    order = checkout_create(user_id=buyer.pk, now=now)
    with pytest.raises(CardDeclined):
        order_pay(order_id=order.pk, user_id=buyer.pk, now=now, payment_method="pm_card_chargeDeclined")
    order_pay(order_id=order.pk, user_id=buyer.pk, now=now, payment_method="pm_card_visa")
    messages = list(order.events.order_by("id").values_list("message", flat=True))
    assert messages[0].startswith("Order placed: 2 items, $") and messages[0].endswith(" to pay.")
    assert "Payment attempt 1 failed: Your card was declined." in messages
    assert "Asked the learning platform to enroll you in your 2 items." in messages
    assert not [message for message in messages if "(s)" in message or ".." in message]
