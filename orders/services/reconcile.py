"""No paid order is left unenrolled: grants the LMS has not answered are pushed again.

``manage.py reconcile entitlements`` (and the periodic task) looks at every paid order
with a line still ``pending`` after ``ENTITLEMENT_RESEND_AFTER_MINUTES``. If its grant is
still waiting in the outbox (the LMS was down), it is delivered now and the reason it
failed is written on the lines; if the grant was dead-lettered or lost, a new one is sent.
The LMS is idempotent per order and item, so a push never enrolls anyone twice.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from integration.models import DeliveryAttempt, OutboxMessage
from integration.outbox import outbox_deliver_now
from integration.topics import Topic
from orders.models import EntitlementStatus, Order, OrderEvent
from orders.selectors import orders_awaiting_grant
from orders.services.fulfilment import entitlement_grant_send


@dataclass(frozen=True)
class ReconcileReport:
    checked: int
    delivered_now: int
    resent: int
    completed: int


def failure_reason(*, status_code: int | None, error: str) -> str:
    """The outbox's last failed attempt in the buyer's and the admin's words."""
    error = (error or "").lower()
    if "timeout" in error or "timed out" in error:
        return "timeout: the learning platform did not answer in time"
    if status_code is None:
        return "network error: the learning platform could not be reached"
    if status_code >= 500:
        return f"LMS server error: the learning platform answered {status_code}"
    return f"the LMS refused the item (HTTP {status_code})"


def _pending_grant(order: Order) -> OutboxMessage | None:
    return (OutboxMessage.objects.filter(aggregate_key=f"order:{order.id}", topic=Topic.ENTITLEMENT,
                                         status=OutboxMessage.Status.PENDING).order_by("id").first())


def order_fulfilment_retry(*, order_id, now: datetime, actor: str, include_failed: bool = True) -> str:
    """Pushes one order's grant again (admin "retry fulfilment"; reconciliation). Answers what it did."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        statuses = [EntitlementStatus.PENDING] + ([EntitlementStatus.FAILED] if include_failed else [])
        lines = list(order.lines.filter(entitlement_status__in=statuses).order_by("position"))
        if not lines:
            return "nothing to retry"
        waiting = _pending_grant(order)
        if waiting is not None:
            attempt = DeliveryAttempt.objects.filter(message=waiting).order_by("-number").first()
            reason = failure_reason(status_code=attempt.status_code, error=attempt.error) if attempt else ""
            if reason:
                order.lines.filter(pk__in=[line.pk for line in lines]).update(entitlement_error=reason[:500])
                OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.ENTITLEMENT, created_at=now, actor=actor,
                                          message=f"Enrollment still waiting ({reason}); trying again now.",
                                          data={"attempts": waiting.attempts})
            message_id = waiting.message_id
        else:
            message_id = None
            entitlement_grant_send(order=order, now=now, lines=lines, reason="retry", actor=actor)
    if message_id is not None:
        outbox_deliver_now(message_id=message_id)
        return "delivered the waiting grant"
    return "sent a new grant"


def entitlements_reconcile(*, now: datetime, older_than: timedelta | None = None) -> ReconcileReport:
    older_than = older_than or timedelta(minutes=settings.ENTITLEMENT_RESEND_AFTER_MINUTES)
    orders = list(orders_awaiting_grant(now=now, older_than=older_than).values_list("pk", flat=True))
    delivered = resent = 0
    for order_id in orders:
        outcome = order_fulfilment_retry(order_id=order_id, now=now, actor="system:reconcile", include_failed=False)
        delivered += outcome.startswith("delivered")
        resent += outcome.startswith("sent")
    completed = Order.objects.filter(pk__in=orders, status="completed").count()
    return ReconcileReport(checked=len(orders), delivered_now=delivered, resent=resent, completed=completed)
