"""Reads: what a buyer owns, their orders, and the queues reconciliation works through."""

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import F, Prefetch, Q, QuerySet

from orders.errors import OrderNotFound
from orders.models import Cart, EntitlementStatus, Order, OrderEvent, OrderLine, OrderStatus

PAID_STATUSES = (OrderStatus.PAID, OrderStatus.COMPLETED, OrderStatus.PARTIALLY_REFUNDED)
HELD_ENTITLEMENTS = (EntitlementStatus.PENDING, EntitlementStatus.GRANTED, EntitlementStatus.PENDING_APPROVAL)


def owned_lines(*, user_id, external_ids: Iterable[str] | QuerySet, exclude_order_id=None) -> QuerySet:
    """The buyer's lines that make them own one of ``external_ids``: an active entitlement, or a paid
    order on its way (the one rule of what is owned; a caller may use it as an ``Exists`` subquery)."""
    conditions = [Q(refunded_amount__lt=F("total")) | Q(total=0)]  # a refunded line is no longer owned
    if exclude_order_id:
        conditions.append(~Q(order_id=exclude_order_id))
    # One filter() call: each further one clones the query (this runs at cart, checkout and pay).
    return OrderLine.objects.filter(*conditions, order__user_id=user_id, order__status__in=PAID_STATUSES,
                                    entitlement_status__in=HELD_ENTITLEMENTS, external_id__in=external_ids)


def owned_external_ids(*, user_id, external_ids: Iterable[str] | QuerySet, exclude_order_id=None) -> set[str]:
    """Which of ``external_ids`` the buyer already has (:func:`owned_lines`).

    ``external_ids`` may be a ``values("external_id")`` queryset (an order's lines, say): it is then a
    subquery of this one query.
    """
    if not isinstance(external_ids, QuerySet):
        external_ids = list(external_ids)
        if not external_ids:
            return set()
    if not user_id:
        return set()
    lines = owned_lines(user_id=user_id, external_ids=external_ids, exclude_order_id=exclude_order_id)
    return set(lines.values_list("external_id", flat=True))


def cart_for(*, user_id=None, session_key: str | None = None) -> Cart | None:
    if user_id:
        return Cart.objects.filter(user_id=user_id).first()
    if session_key:
        return Cart.objects.filter(session_key=session_key, user_id__isnull=True).first()
    return None


def _with_lines(queryset: QuerySet) -> QuerySet:
    return queryset.prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("position")))


def order_list(*, user_id, filters: dict | None = None) -> QuerySet:
    """The buyer's orders, newest first, with lines (for the history page and the API)."""
    filters = filters or {}
    queryset = Order.objects.filter(user_id=user_id)
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    if filters.get("q"):
        q = filters["q"].strip()
        queryset = queryset.filter(Q(number__icontains=q) | Q(lines__name__icontains=q)).distinct()
    return _with_lines(queryset.order_by("-created_at"))


def order_get(*, order_id, user_id=None) -> Order:
    """The order (with lines); ``user_id`` limits it to its buyer (anyone else: not found)."""
    queryset = Order.objects.all()
    if user_id is not None:
        queryset = queryset.filter(user_id=user_id)
    try:
        uuid.UUID(str(order_id))
        return _with_lines(queryset).get(pk=order_id)
    except (Order.DoesNotExist, ValueError):
        raise OrderNotFound(details={"orderId": str(order_id)[:64]}) from None


def order_timeline(*, order: Order) -> list[OrderEvent]:
    return list(order.events.order_by("created_at", "id"))


def orders_awaiting_grant(*, now: datetime, older_than: timedelta) -> QuerySet:
    """Paid orders with a line the LMS has not answered for, whose last grant went out before ``now - older_than``."""
    cutoff = now - older_than
    return (Order.objects.filter(status__in=PAID_STATUSES, lines__entitlement_status=EntitlementStatus.PENDING)
            .filter(Q(last_grant_at__lte=cutoff) | Q(last_grant_at__isnull=True, paid_at__lte=cutoff))
            .distinct().order_by("paid_at"))


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def personal_data(*, user_id) -> list[dict]:
    """The buyer's orders with lines, payments and refunds, as JSON (the data download)."""
    orders = (Order.objects.filter(user_id=user_id).order_by("created_at")
              .prefetch_related("lines", "payments", "refunds"))
    return [{
        "orderId": str(order.id), "number": order.number, "status": order.status, "currency": order.currency,
        "subtotal": str(order.subtotal), "discount": str(order.discount), "tax": str(order.tax),
        "total": str(order.total), "refunded": str(order.refunded_amount), "couponCode": order.coupon_code,
        "billingCountry": order.billing_country.code if order.billing_country else "",
        "createdAt": _iso(order.created_at), "paidAt": _iso(order.paid_at),
        "lines": [{"id": str(line.id), "name": line.name, "externalId": line.external_id, "total": str(line.total),
                   "entitlementStatus": line.entitlement_status, "enrollmentId": line.enrollment_id}
                  for line in sorted(order.lines.all(), key=lambda line: line.position)],
        "payments": [{"attempt": p.attempt, "gateway": p.gateway, "status": p.status, "amount": str(p.amount),
                      "transactionId": p.transaction_id, "at": _iso(p.created_at)}
                     for p in sorted(order.payments.all(), key=lambda p: p.attempt)],
        "refunds": [{"amount": str(r.amount), "reason": r.reason, "at": _iso(r.created_at)}
                    for r in sorted(order.refunds.all(), key=lambda r: r.created_at)],
    } for order in orders]


PAID_LINES_MAX_LIMIT = 1000


def paid_lines_page(*, after: str | None = None, limit: int | None = None) -> dict:
    """One keyset page (by line id) of the lines of every order that was paid, refunded ones included:
    ``OrdersPort.paid_lines``, what ``reconcile enrollments`` compares with the LMS. One query a page."""
    limit = max(1, min(int(limit or 500), PAID_LINES_MAX_LIMIT))
    lines = (OrderLine.objects.filter(order__status__in=(*PAID_STATUSES, OrderStatus.REFUNDED))
             .select_related("order").order_by("id")
             .only("id", "order_id", "entitlement_status", "enrollment_id", "total", "refunded_amount",
                   "order__number", "order__status", "order__paid_at", "order__last_grant_at", "order__grants_sent"))
    if after:
        lines = lines.filter(id__gt=uuid.UUID(str(after)))  # an internal caller's cursor: a bad one is a bug
    rows = list(lines[:limit + 1])
    page = rows[:limit]
    return {"lines": [{"lineId": str(line.id), "orderId": str(line.order_id), "orderNumber": line.order.number,
                       "orderStatus": line.order.status, "entitlementStatus": line.entitlement_status,
                       "enrollmentId": line.enrollment_id, "fullyRefunded": line.refunded_amount >= line.total > 0,
                       "paidAt": line.order.paid_at, "lastGrantAt": line.order.last_grant_at,
                       "grantsSent": line.order.grants_sent} for line in page],
            "nextCursor": str(page[-1].id) if len(rows) > limit else None}


def paid_orders(*, order_ids) -> dict:
    """``OrdersPort.paid_orders``: which of ``order_ids`` were paid (refunded ones included), with their
    currency; ids that are not order ids at all are simply not found. One query."""
    ids = []
    for order_id in order_ids:
        try:
            ids.append(uuid.UUID(str(order_id)))
        except ValueError:
            continue
    found = (Order.objects.filter(pk__in=ids, status__in=(*PAID_STATUSES, OrderStatus.REFUNDED))
             .values_list("id", "currency")) if ids else []
    return {"orders": [{"orderId": str(order_id), "currency": currency} for order_id, currency in found]}
