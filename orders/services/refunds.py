"""Refunds: the whole order, some lines, or an amount; by a commerce-admin, the buyer, or on a rejection.

The order's row is locked for the whole refund, processor call included, so two refunds
at once are taken one after the other and the second sees what the first gave back: a
refund never exceeds what was paid. A line refunded in full loses its access:
``entitlement.revoked`` goes through the outbox in the same transaction, each item
carrying the amount refunded.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from integration.mail import send_templated_email
from integration.money import allocate, format_money, quantize, to_decimal
from orders import remote
from orders.errors import (
    NotRefundable,
    RefundAfterCompletion,
    RefundExceedsPaid,
    RefundForbidden,
    RefundInvalid,
    RefundWindowClosed,
)
from orders.gateways import get_gateway
from orders.models import (
    EntitlementStatus,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Payment,
    Refund,
    RefundLine,
)
from orders.services.fulfilment import entitlement_revoke_send, is_uuid
from orders.state import PAID_STATES, order_transition

ZERO = Decimal("0")
# Lines the LMS may have enrolled (a revoked or failed one gave no course to complete).
ASKED_ABOUT_COMPLETION = (EntitlementStatus.GRANTED, EntitlementStatus.PENDING, EntitlementStatus.PENDING_APPROVAL)


def _lock(order_id) -> Order:
    from orders.errors import OrderNotFound

    order = Order.objects.select_for_update().filter(pk=order_id).first() if is_uuid(order_id) else None
    if order is None:
        raise OrderNotFound(details={"orderId": str(order_id)[:64]})
    return order


def refund_check_buyer(*, order: Order, user_id, lines: list[OrderLine], now: datetime) -> None:
    """A buyer's own refund: their order, within REFUND_WINDOW_DAYS of paying, no completed course.

    Completion is the LMS's to say (``LearningPort.enrollments_completed``, one call for all the lines);
    a line it never enrolled (revoked, failed) has nothing to complete and is not asked about.
    """
    if str(order.user_id) != str(user_id):
        raise RefundForbidden(details={"orderId": str(order.id)})
    if order.paid_at is None or now - order.paid_at > timedelta(days=settings.REFUND_WINDOW_DAYS):
        raise RefundWindowClosed(details={"refundWindowDays": settings.REFUND_WINDOW_DAYS})
    asked = [line for line in lines if line.entitlement_status in ASKED_ABOUT_COMPLETION]
    completed = remote.lines_completed(user_id=order.user_id, line_ids=[str(line.id) for line in asked])
    if completed:
        names = [line.name for line in asked if str(line.id) in completed]
        raise RefundAfterCompletion(details={"orderItemIds": sorted(completed), "items": names})


def _split(order: Order, lines: list[OrderLine], line_ids, amount) -> dict[OrderLine, Decimal]:
    """How much each line gives back."""
    if line_ids:
        wanted = {str(line_id) for line_id in line_ids}
        chosen = [line for line in lines if str(line.id) in wanted]
        if len(chosen) != len(wanted):
            raise RefundInvalid("Some lines are not in this order.",
                                details={"lineIds": sorted(wanted - {str(line.id) for line in chosen})})
    else:
        chosen = lines
    chosen = [line for line in chosen if line.refundable_amount > 0]
    left = sum((line.refundable_amount for line in chosen), ZERO)
    if amount is None:
        amount = left
    else:
        try:
            amount = quantize(to_decimal(amount), order.currency)
        except Exception:
            raise RefundInvalid(details={"amount": str(amount)[:40]}) from None
        if amount <= 0:
            raise RefundInvalid("A refund amount is more than zero.", details={"amount": str(amount)})
    if amount > order.refundable_amount or amount > left:
        raise RefundExceedsPaid(details={"requested": str(amount), "refundable": str(min(left, order.refundable_amount)),
                                         "currency": order.currency})
    if amount <= 0:
        raise NotRefundable("Nothing is left to refund on these lines.", details={"orderId": str(order.id)})
    parts = allocate(amount, [line.refundable_amount for line in chosen], order.currency)
    # Rounding must never push one line past what it has left.
    return {line: min(part, line.refundable_amount) for line, part in zip(chosen, parts, strict=True) if part > 0}


def refund_create(*, order_id, reason: str, initiator: str, actor: str, now: datetime, line_ids=None,
                  amount=None, buyer_id=None) -> Refund:
    """Refunds through the gateway and records it; ``buyer_id`` makes it a buyer's request (with its limits)."""
    reason = (reason or "").strip()
    if not reason:
        raise RefundInvalid("Say why the refund is made.", details={"reason": "required"})
    with transaction.atomic():
        order = _lock(order_id)
        if buyer_id is not None and str(order.user_id) != str(buyer_id):
            from orders.errors import OrderNotFound

            raise OrderNotFound(details={"orderId": str(order_id)[:64]})
        return _refund_locked(order=order, reason=reason, initiator=initiator, actor=actor, now=now,
                              line_ids=line_ids, amount=amount, buyer_id=buyer_id)


def refund_for_rejection(*, order: Order, line: OrderLine, reason: str, now: datetime) -> Refund | None:
    """A rejected enrollment's line, refunded automatically (the order is locked by the caller)."""
    if order.status not in PAID_STATES or line.refundable_amount <= 0:
        return None
    refund = _refund_locked(order=order, reason=f"Enrollment rejected{': ' + reason if reason else ''}",
                            initiator=Refund.Initiator.SYSTEM, actor="system:enrollment-rejected", now=now,
                            line_ids=[line.id], amount=None, buyer_id=None, template="orders/rejected_refund",
                            extra={"item": line.name, "rejection_reason": reason or ""})
    return refund


def refund_for_already_enrolled(*, order: Order, line: OrderLine, now: datetime) -> Refund | None:
    """A line the LMS answered ``already_enrolled``: the buyer paid for access they had, so it is refunded
    automatically (the order is locked by the caller). The LMS keeps the earlier enrollment: the line's
    revoke leaves an enrollment it did not open."""
    if order.status not in PAID_STATES or line.refundable_amount <= 0:
        return None
    return _refund_locked(order=order, reason="Already enrolled: the buyer had this course before the order",
                          initiator=Refund.Initiator.SYSTEM, actor="system:already-enrolled", now=now,
                          line_ids=[line.id], amount=None, buyer_id=None, template="orders/already_enrolled_refund",
                          extra={"item": line.name})


def _refund_locked(*, order: Order, reason: str, initiator: str, actor: str, now: datetime, line_ids, amount,
                   buyer_id, template: str = "orders/refund", extra: dict | None = None) -> Refund:
    if order.status not in PAID_STATES:
        raise NotRefundable(details={"status": order.status})
    lines = list(order.lines.select_for_update().order_by("position"))
    split = _split(order, lines, line_ids, amount)
    if buyer_id is not None:
        refund_check_buyer(order=order, user_id=buyer_id, lines=list(split), now=now)
    total = sum(split.values(), ZERO)
    payment = order.payments.filter(status=Payment.Status.SUCCEEDED).first()
    number = order.refunds.count() + 1
    key = f"refund:{order.id}:{number}"
    refund_id, already = "", False
    if payment is not None and payment.intent_id:
        answer = get_gateway(payment.gateway).refund(intent_id=payment.intent_id, amount=total,
                                                     currency=order.currency, idempotency_key=key)
        refund_id, already = answer.refund_id, answer.already_refunded
    return _refund_apply(order=order, split=split, number=number, key=key, gateway_refund_id=refund_id,
                         reason=reason, initiator=initiator, actor=actor, now=now, template=template, extra=extra,
                         note=" (the processor had already refunded it)" if already else "")


def _refund_apply(*, order: Order, split: dict[OrderLine, Decimal], number: int, key: str, gateway_refund_id: str,
                  reason: str, initiator: str, actor: str, now: datetime, template: str, extra: dict | None,
                  note: str = "") -> Refund:
    """Records a refund the processor has made (order locked): lines, order status, timeline, revokes, email."""
    total = sum(split.values(), ZERO)
    refund = Refund.objects.create(order=order, amount=total, currency=order.currency, reason=reason[:500],
                                   initiator=initiator, actor=actor[:255], gateway_refund_id=gateway_refund_id,
                                   idempotency_key=key, created_at=now)
    revoked: dict[OrderLine, Decimal] = {}
    refund_lines = []
    for line, part in split.items():
        line.refunded_amount += part
        full = line.refunded_amount >= line.total
        refund_lines.append(RefundLine(refund=refund, line=line, amount=part, revokes_access=full))
        if full and line.entitlement_status != EntitlementStatus.REVOKED:
            revoked[line] = line.refunded_amount
    RefundLine.objects.bulk_create(refund_lines)
    OrderLine.objects.bulk_update(list(split), ["refunded_amount"])
    order.refunded_amount += total
    target = OrderStatus.REFUNDED if order.refunded_amount >= order.total else OrderStatus.PARTIALLY_REFUNDED
    timeline: list[OrderEvent] = []
    order_transition(order=order, to=target, now=now, actor=actor, also_save=("refunded_amount",), timeline=timeline,
                     message=f"Refunded {format_money(total, order.currency)}{note}: {reason}.")
    timeline.append(OrderEvent(order=order, kind=OrderEvent.Kind.REFUND, created_at=now, actor=actor,
                               message=f"Refund of {format_money(total, order.currency)} "
                                       f"({Refund.Initiator(initiator).label.lower()}).",
                               data={"refundId": str(refund.id), "gatewayRefundId": gateway_refund_id,
                                     "lines": {str(k.id): str(v) for k, v in split.items()}}))
    buyer = remote.user_get(user_id=str(order.user_id))
    entitlement_revoke_send(order=order, refunds=revoked, now=now, key=f"revoke:{order.id}:{number}",
                            email=buyer.email, timeline=timeline)
    OrderEvent.objects.bulk_create(timeline)
    if buyer.reachable:
        send_templated_email(to=buyer.email, template=template, context={
            "order_number": order.number, "order_id": str(order.id), "amount": format_money(total, order.currency),
            "reason": reason, "items": [line.name for line in split], **(extra or {})})
    return refund


def refund_record_external(*, payment: Payment, gateway_refund_id: str, amount: Decimal, now: datetime,
                           source: str) -> str:
    """A refund made at the processor outside the store (Stripe's dashboard), recorded once; answers the outcome.

    Matched by the processor's refund id: a refund the store made itself (recorded with that id, under
    the order's lock, before this can read it) or one already recorded answers ``duplicate``. The amount
    is spread over the lines with money left, never past what is left; a line refunded in full loses
    its access (``entitlement.revoked``), as with the store's own refunds.
    """
    with transaction.atomic():
        order = _lock(payment.order_id)
        if order.refunds.filter(gateway_refund_id=gateway_refund_id).exists():
            return "duplicate: refund already recorded"
        if order.status not in PAID_STATES:
            return f"not recorded: order {order.status}"
        amount = min(quantize(amount, order.currency), order.refundable_amount)
        lines = list(order.lines.select_for_update().order_by("position"))
        if amount <= 0 or not any(line.refundable_amount > 0 for line in lines):
            return "not recorded: nothing left to refund"
        split = _split(order, lines, None, amount)
        number = order.refunds.count() + 1
        refund = _refund_apply(order=order, split=split, number=number, key=f"gateway-refund:{gateway_refund_id}",
                               gateway_refund_id=gateway_refund_id, reason="Refunded at the payment processor",
                               initiator=Refund.Initiator.PROCESSOR, actor=source, now=now,
                               template="orders/refund", extra=None)
        return f"refund {refund.amount} recorded, order {order.status}"
