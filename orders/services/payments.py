"""Paying an order: one attempt at a time, one charge per attempt, whatever arrives twice.

An attempt is written (and committed) before the processor is called, with an
idempotency key per order and attempt; a second request for the same order while it
runs reuses that attempt and key, so the processor answers the same charge. The
result is recorded under the order's row lock by :func:`payment_record`, which the
Stripe webhook calls too: whichever comes first marks the order paid, the other
finds it so.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Subquery

from integration.db import update_together
from integration.mail import send_templated_email
from integration.money import allocate, format_money
from orders import remote
from orders.errors import (
    AlreadyOwned,
    AuthenticationFailed,
    CardDeclined,
    OrderNotFound,
    OrderNotPayable,
    PaymentInProgress,
    PaymentMethodRequired,
    UnknownPaymentIntent,
)
from orders.gateways import get_gateway
from orders.gateways.base import FAILED, REQUIRES_ACTION, SUCCEEDED, GatewayPayment
from orders.models import Cart, CartItem, Order, OrderEvent, OrderLine, OrderStatus, Payment
from orders.selectors import owned_external_ids
from orders.services.fulfilment import entitlement_grant_send, is_uuid, lines_update, order_and_lines_locked
from orders.state import PAID_STATES, PAYABLE_STATES, order_transition

OPEN = (Payment.Status.PROCESSING, Payment.Status.REQUIRES_ACTION)
ABANDONED_AFTER = timedelta(minutes=5)
GATEWAY_NAMES = {"test": "the test gateway", "stripe": "Stripe"}
AUTHENTICATION_FAILURES = frozenset({"payment_intent_authentication_failure", "payment_authentication_failed"})
# What paying reads of the order (the wide row's other columns are not loaded): an attempt needs the
# first line; recording the processor's answer (the grant, the receipt) all of them.
ATTEMPT_FIELDS = ("id", "number", "user_id", "status", "currency", "total", "gateway")
RECORD_FIELDS = (*ATTEMPT_FIELDS, "tax", "tax_name", "tax_inclusive", "coupon_code", "transaction_id",
                 "grants_sent", "created_at")
LATEST_ATTEMPT_FIELDS = ("id", "order_id", "attempt", "status", "idempotency_key", "created_at")
NOT_SUCCEEDED = tuple(status for status in Payment.Status.values if status != Payment.Status.SUCCEEDED)
LINE_FIELDS = ("id", "order_id", "position", "product_id", "bundle_product_id", "product_type", "external_id",
               "name", "total", "tax")


@dataclass(frozen=True)
class PayResult:
    order: Order
    payment: Payment | None
    requires_action: bool = False
    client_secret: str = ""


def _locked_order(*, order_id, user_id=None) -> Order:
    # What is read about the order's payments comes in later statements: one computed with the lock
    # (a subquery here) would see the snapshot from before a concurrent attempt committed.
    queryset = Order.objects.select_for_update().only(*ATTEMPT_FIELDS)
    if user_id is not None:
        queryset = queryset.filter(user_id=user_id)
    order = queryset.filter(pk=order_id).first() if is_uuid(order_id) else None
    if order is None:
        raise OrderNotFound(details={"orderId": str(order_id)[:64]})
    return order


def _attempt_begin(*, order_id, user_id, payment_method: str,
                   now: datetime) -> tuple[Order, Payment | None, list[OrderLine] | None]:
    """Under the order's lock: the attempt to charge with (a new one, or the one already under way), and
    the order's lines (what recording a success needs of them, none of which changes once it is placed)."""
    with transaction.atomic():
        # One statement: the order locked, its lines (not locked) read with it.
        locked = order_and_lines_locked(order_id=order_id, user_id=user_id, order_fields=ATTEMPT_FIELDS,
                                        line_fields=LINE_FIELDS, lines_locked=False)
        order, lines = locked or (_locked_order(order_id=order_id, user_id=user_id), None)
        if order.status in PAID_STATES:
            return order, None, lines
        if order.status not in PAYABLE_STATES:
            raise OrderNotPayable(details={"status": order.status})
        if lines:
            owned = owned_external_ids(user_id=order.user_id, external_ids=[line.external_id for line in lines],
                                       exclude_order_id=order.pk)
        else:
            owned = owned_external_ids(user_id=order.user_id, lines_of_order_id=order.pk,
                                       exclude_order_id=order.pk)
        if owned:
            raise AlreadyOwned(details={"externalIds": sorted(owned)})
        latest = order.payments.only(*LATEST_ATTEMPT_FIELDS).order_by("-attempt").first()
        if latest is not None and latest.status == Payment.Status.PROCESSING:
            if latest.idempotency_key.endswith(":" + payment_method[:40]):
                return order, latest, lines
            if now - latest.created_at < ABANDONED_AFTER:
                raise PaymentInProgress(details={"attempt": latest.attempt})
            latest.status, latest.failure_code, latest.updated_at = Payment.Status.FAILED, "abandoned", now
            latest.save(update_fields=["status", "failure_code", "updated_at"])
        attempt = (latest.attempt if latest else 0) + 1
        payment = Payment.objects.create(
            order=order, attempt=attempt, gateway=order.gateway, amount=order.total, currency=order.currency,
            idempotency_key=f"order:{order.id}:attempt:{attempt}:{payment_method[:40]}",
            status=Payment.Status.PROCESSING, created_at=now, updated_at=now)
        return order, payment, lines


def order_pay(*, order_id, user_id, now: datetime, payment_method: str = "", payment_intent_id: str = "",
              client_secret: str = "") -> PayResult:
    """Charges the order (or finishes its confirmation step). Raises 402 ``card_declined`` on a decline."""
    payment_method = (payment_method or "").strip()
    if payment_intent_id:
        return _confirmation_finish(order_id=order_id, user_id=user_id, intent_id=payment_intent_id,
                                    client_secret=client_secret, now=now)
    if not payment_method:
        order = Order.objects.filter(pk=order_id, user_id=user_id).first() if is_uuid(order_id) else None
        if order is not None and order.total == 0:
            payment_method = "free"
        else:
            raise PaymentMethodRequired()
    order, payment, lines = _attempt_begin(order_id=order_id, user_id=user_id, payment_method=payment_method, now=now)
    if payment is None:
        return PayResult(order=order, payment=order.payments.filter(status=Payment.Status.SUCCEEDED).first())
    if order.total == 0:
        answer = GatewayPayment(intent_id="", status=SUCCEEDED)
    else:
        gateway = get_gateway(order.gateway)
        metadata = {"orderId": str(order.id), "paymentId": str(payment.id), "orderNumber": order.number}
        # If this raises (processor unreachable), the attempt stays open: a retry reuses its key, and
        # Stripe's event settles it either way.
        answer = gateway.charge(amount=order.total, currency=order.currency, payment_method=payment_method,
                                idempotency_key=payment.idempotency_key, metadata=metadata)
    fresh = None if payment.get_deferred_fields() else payment  # the attempt made just now, whole
    return _result(payment_record(payment_id=payment.id, answer=answer, now=now, order_id=order.pk,
                                  payment=fresh, lines=lines))


def _confirmation_finish(*, order_id, user_id, intent_id: str, client_secret: str, now: datetime) -> PayResult:
    order = Order.objects.filter(pk=order_id, user_id=user_id).first() if is_uuid(order_id) else None
    if order is None:
        raise OrderNotFound(details={"orderId": str(order_id)[:64]})
    payment = order.payments.filter(intent_id=intent_id).first()
    if payment is None:
        raise UnknownPaymentIntent(details={"paymentIntentId": intent_id[:64]})
    gateway = get_gateway(payment.gateway)
    if payment.gateway == "test" and payment.status == Payment.Status.REQUIRES_ACTION:
        answer = gateway.authenticate(intent_id=intent_id, client_secret=client_secret,
                                      success=client_secret == payment.client_secret)
    else:
        answer = gateway.retrieve(intent_id=intent_id)
    return _result(payment_record(payment_id=payment.id, answer=answer, now=now))


def _result(recorded: tuple[Order, Payment]) -> PayResult:
    order, payment = recorded
    if payment.status == Payment.Status.REQUIRES_ACTION:
        return PayResult(order=order, payment=payment, requires_action=True, client_secret=payment.client_secret)
    if payment.status == Payment.Status.FAILED and order.status not in PAID_STATES:
        error = AuthenticationFailed if payment.failure_code in AUTHENTICATION_FAILURES else CardDeclined
        raise error(payment.failure_message or None,
                    details={"orderId": str(order.id), "attempt": payment.attempt,
                             "declineCode": payment.failure_code})
    return PayResult(order=order, payment=payment)


@transaction.atomic
def payment_record(*, payment_id, answer: GatewayPayment, now: datetime, source: str = "request",
                   order_id=None, payment: Payment | None = None,
                   lines: list[OrderLine] | None = None) -> tuple[Order, Payment]:
    """What the processor said about an attempt, recorded once under the order's lock.

    Payments are only written under their order's lock, so the payment read after taking it is current.
    ``order_id``, ``payment`` (the attempt as its caller made it) and ``lines`` (the order's lines with
    ``LINE_FIELDS``, read at the attempt) spare the look-ups; a success is then one conditional UPDATE
    of the attempt, which only an attempt not yet succeeded passes.
    """
    queryset = Order.objects.select_for_update().only(*RECORD_FIELDS)
    order = (queryset.filter(pk=order_id) if order_id is not None else
             queryset.filter(pk=Subquery(Payment.objects.filter(pk=payment_id).values("order_id")))).first()
    if order is None:
        raise Payment.DoesNotExist(f"payment {payment_id}")
    if answer.status == SUCCEEDED:
        return order, _payment_succeeded(order=order, payment_id=payment_id, payment=payment, answer=answer,
                                         now=now, source=source, lines=lines)
    payment = Payment.objects.get(pk=payment_id)
    if payment.status == Payment.Status.SUCCEEDED:
        return order, payment
    changed = ["status", "updated_at"]
    if answer.intent_id and not payment.intent_id:
        payment.intent_id = answer.intent_id
        changed.append("intent_id")
    payment.updated_at = now
    if answer.status == REQUIRES_ACTION:
        if payment.status != Payment.Status.REQUIRES_ACTION:
            OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.PAYMENT, created_at=now,
                                      message="Your bank asked you to confirm the payment.")
        payment.status = Payment.Status.REQUIRES_ACTION
        payment.client_secret = answer.client_secret
        payment.save(update_fields=[*changed, "client_secret"])
    elif answer.status == FAILED:
        if payment.status in OPEN:
            payment.status = Payment.Status.FAILED
            payment.failure_code = answer.failure_code[:64]
            payment.failure_message = answer.failure_message[:500]
            payment.save(update_fields=[*changed, "failure_code", "failure_message"])
            OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.PAYMENT, created_at=now,
                                      message=f"Payment attempt {payment.attempt} failed: "
                                              f"{(payment.failure_message or payment.failure_code).rstrip('.')}.",
                                      data={"code": payment.failure_code, "source": source})
            if order.status == OrderStatus.PENDING:
                order_transition(order=order, to=OrderStatus.PAYMENT_FAILED, now=now, actor=source,
                                 message="Payment failed; you can try again with another card.")
    else:
        payment.save(update_fields=changed)
    return order, payment


def _payment_succeeded(*, order: Order, payment_id, payment: Payment | None, answer: GatewayPayment,
                       now: datetime, source: str, lines: list[OrderLine] | None = None) -> Payment:
    """Marks the attempt succeeded (unless it already was) and, the first time, the order paid."""
    transaction_id = answer.transaction_id or answer.intent_id
    values = {"status": Payment.Status.SUCCEEDED, "fee": answer.fee, "transaction_id": transaction_id,
              "updated_at": now}
    attempt = Payment.objects.filter(pk=payment_id, status__in=NOT_SUCCEEDED)
    moved, other_intent = 0, 0
    if answer.intent_id:
        moved = attempt.filter(intent_id__in=("", answer.intent_id)).update(**values, intent_id=answer.intent_id)
        if not moved:  # succeeded before, or (never seen) the attempt names another intent: that one is kept
            other_intent = attempt.update(**values)
    else:
        moved = attempt.update(**values)
    if not (moved or other_intent):  # succeeded before: whoever recorded it answers
        return Payment.objects.get(pk=payment_id)
    if payment is None or other_intent:
        payment = Payment.objects.get(pk=payment_id)
    else:
        payment.status, payment.fee, payment.transaction_id, payment.updated_at = (
            Payment.Status.SUCCEEDED, answer.fee, transaction_id, now)
        payment.intent_id = answer.intent_id or payment.intent_id
    _order_paid(order=order, payment=payment, now=now, source=source, lines=lines)
    return payment


def _order_paid(*, order: Order, payment: Payment, now: datetime, source: str,
                lines: list[OrderLine] | None = None) -> None:
    if order.status in PAID_STATES or order.status not in PAYABLE_STATES:
        OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.PAYMENT, created_at=now,
                                  message=f"A second payment ({payment.transaction_id}) arrived for this order.",
                                  data={"paymentId": str(payment.id), "source": source})
        return
    order.processor_fee = payment.fee
    order.transaction_id = payment.transaction_id
    order.grants_sent += 1
    order.last_grant_at = now
    timeline: list[OrderEvent] = []
    written: list[str] = []
    order_transition(order=order, to=OrderStatus.PAID, now=now, actor=source, unsaved=written,
                     message=f"Payment received: {format_money(order.total, order.currency)}, with "
                             f"{GATEWAY_NAMES.get(order.gateway, order.gateway)}"
                             f" ({payment.transaction_id or 'nothing to charge'}).",
                     also_save=("processor_fee", "transaction_id", "grants_sent", "last_grant_at"),
                     data={"paymentId": str(payment.id), "fee": str(payment.fee), "source": source},
                     timeline=timeline)
    if lines is None:
        lines = list(order.lines.only(*LINE_FIELDS).order_by("position"))
    updates = [(Order.objects.filter(pk=order.pk), {name: getattr(order, name) for name in written})]
    if lines:
        fees = allocate(payment.fee, [line.total for line in lines], order.currency)
        for line, fee in zip(lines, fees, strict=True):
            line.order, line.processor_fee = order, fee
        updates.append(lines_update(lines, ["processor_fee"]))
    update_together(*updates)  # the order paid and the lines' fees: one statement on PostgreSQL
    buyer = remote.user_get(user_id=str(order.user_id))
    entitlement_grant_send(order=order, now=now, lines=lines, email=buyer.email, counted=True, timeline=timeline)
    OrderEvent.objects.bulk_create(timeline)
    product_ids = {line.bundle_product_id or line.product_id for line in lines}
    CartItem.objects.filter(cart__user_id=order.user_id, product_id__in=product_ids).delete()
    if order.coupon_code:
        Cart.objects.filter(user_id=order.user_id, coupon_code=order.coupon_code).update(coupon_code="",
                                                                                         updated_at=now)
    if buyer.reachable:
        send_templated_email(to=buyer.email, template="orders/receipt", context={
            "order_number": order.number, "order_id": str(order.id),
            "total": format_money(order.total, order.currency),
            "tax": format_money(order.tax, order.currency) if order.tax else "",
            "tax_name": order.tax_name, "tax_inclusive": order.tax_inclusive,
            "items": [{"name": line.name, "total": format_money(line.total, order.currency)} for line in lines]})
