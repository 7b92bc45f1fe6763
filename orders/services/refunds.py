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


def _lock(order_id) -> Order:
    from orders.errors import OrderNotFound

    order = Order.objects.select_for_update().filter(pk=order_id).first() if is_uuid(order_id) else None
    if order is None:
        raise OrderNotFound(details={"orderId": str(order_id)[:64]})
    return order


def refund_check_buyer(*, order: Order, user_id, lines: list[OrderLine], now: datetime) -> None:
    """A buyer's own refund: their order, within REFUND_WINDOW_DAYS of paying, no completed course."""
    if str(order.user_id) != str(user_id):
        raise RefundForbidden(details={"orderId": str(order.id)})
    if order.paid_at is None or now - order.paid_at > timedelta(days=settings.REFUND_WINDOW_DAYS):
        raise RefundWindowClosed(details={"refundWindowDays": settings.REFUND_WINDOW_DAYS})
    for line in lines:
        if line.enrollment_id and remote.course_completed(enrollment_id=line.enrollment_id):
            raise RefundAfterCompletion(details={"orderItemId": str(line.id)})


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
    refund = Refund.objects.create(order=order, amount=total, currency=order.currency, reason=reason[:500],
                                   initiator=initiator, actor=actor[:255], gateway_refund_id=refund_id,
                                   idempotency_key=key, created_at=now)
    revoked: dict[OrderLine, Decimal] = {}
    for line, part in split.items():
        line.refunded_amount += part
        full = line.refunded_amount >= line.total
        RefundLine.objects.create(refund=refund, line=line, amount=part, revokes_access=full)
        if full and line.entitlement_status != EntitlementStatus.REVOKED:
            revoked[line] = line.refunded_amount
    OrderLine.objects.bulk_update(list(split), ["refunded_amount"])
    order.refunded_amount += total
    order.save(update_fields=["refunded_amount"])
    target = OrderStatus.REFUNDED if order.refunded_amount >= order.total else OrderStatus.PARTIALLY_REFUNDED
    order_transition(order=order, to=target, now=now, actor=actor,
                     message=f"Refunded {format_money(total, order.currency)}"
                             f"{' (the processor had already refunded it)' if already else ''}: {reason}.")
    OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.REFUND, created_at=now, actor=actor,
                              message=f"Refund of {format_money(total, order.currency)} "
                                      f"({Refund.Initiator(initiator).label.lower()}).",
                              data={"refundId": str(refund.id), "lines": {str(k.id): str(v) for k, v in split.items()}})
    entitlement_revoke_send(order=order, refunds=revoked, now=now, key=f"revoke:{order.id}:{number}")
    buyer = remote.user_get(user_id=str(order.user_id))
    if buyer.reachable:
        send_templated_email(to=buyer.email, template=template, context={
            "order_number": order.number, "order_id": str(order.id), "amount": format_money(total, order.currency),
            "reason": reason, "items": [line.name for line in split], **(extra or {})})
    return refund
