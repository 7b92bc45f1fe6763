"""Reads: what a buyer owns, their orders, and the queues reconciliation works through."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import F, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from orders.errors import OrderNotFound
from orders.models import Cart, EntitlementStatus, Order, OrderEvent, OrderLine, OrderStatus, Refund

PAID_STATUSES = (OrderStatus.PAID, OrderStatus.COMPLETED, OrderStatus.PARTIALLY_REFUNDED)
HELD_ENTITLEMENTS = (EntitlementStatus.PENDING, EntitlementStatus.GRANTED, EntitlementStatus.PENDING_APPROVAL)


# What a buyer owns, as one SQL statement: a line of one of their paid orders whose entitlement is held
# (enrolling, enrolled or awaiting approval) and that is not fully refunded (a free line stays owned).
# Written out rather than built with the ORM: it runs at cart add, checkout and pay, and building the
# equivalent queryset (a join, an OR of an F() comparison) cost ~0.4 ms of CPU each time.
_LINE, _ORDER = OrderLine._meta.db_table, Order._meta.db_table
_OWNED_SQL = (
    f"SELECT l.external_id FROM {_LINE} l INNER JOIN {_ORDER} o ON l.order_id = o.id"  # noqa: S608 (names from the models; values are parameters)
    f" WHERE o.user_id = %s AND o.status IN ({', '.join(['%s'] * len(PAID_STATUSES))})"
    f" AND l.entitlement_status IN ({', '.join(['%s'] * len(HELD_ENTITLEMENTS))})"
    " AND (l.refunded_amount < l.total OR l.total = 0) AND l.external_id IN "
)
_ORDER_LINES_SQL = f"(SELECT external_id FROM {_LINE} WHERE order_id = %s)"  # noqa: S608 (as above)


def owned_external_ids(*, user_id, external_ids: Iterable[str] = (), lines_of_order_id=None,
                       exclude_order_id=None) -> set[str]:
    """Which of ``external_ids`` (or of the items of order ``lines_of_order_id``, read in the same
    statement) the buyer already has: an active entitlement, or a paid order on its way. One query."""
    external_ids = list(external_ids)
    if (not external_ids and lines_of_order_id is None) or not user_id:
        return set()
    uuid_param = Order._meta.pk.get_db_prep_value
    params: list = [uuid_param(uuid.UUID(str(user_id)), connection), *map(str, PAID_STATUSES),
                    *map(str, HELD_ENTITLEMENTS)]
    if lines_of_order_id is not None:
        sql = _OWNED_SQL + _ORDER_LINES_SQL
        params.append(uuid_param(uuid.UUID(str(lines_of_order_id)), connection))
    else:
        sql = _OWNED_SQL + "(" + ", ".join(["%s"] * len(external_ids)) + ")"
        params.extend(str(external_id) for external_id in external_ids)
    if exclude_order_id:
        sql += " AND l.order_id <> %s"
        params.append(uuid_param(uuid.UUID(str(exclude_order_id)), connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


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
    ``OrdersPort.paid_lines``, what ``reconcile enrollments`` compares with the LMS and ``reconcile sales`` with
    the payouts ledger. One query a page (the order's last refund read by a subquery)."""
    limit = max(1, min(int(limit or 500), PAID_LINES_MAX_LIMIT))
    last_refund = Refund.objects.filter(order=OuterRef("order_id")).order_by("-created_at").values("created_at")[:1]
    lines = (OrderLine.objects.filter(order__status__in=(*PAID_STATUSES, OrderStatus.REFUNDED))
             .select_related("order").order_by("id")
             .only("id", "order_id", "entitlement_status", "entitlement_answered_at", "enrollment_id", "external_id",
                   "total", "tax", "refunded_amount", "order__number", "order__status", "order__paid_at", "order__last_grant_at",
                   "order__grants_sent")
             .annotate(refunded_at=Subquery(last_refund)))
    if after:
        lines = lines.filter(id__gt=uuid.UUID(str(after)))  # an internal caller's cursor: a bad one is a bug
    rows = list(lines[:limit + 1])
    page = rows[:limit]
    return {"lines": [{"lineId": str(line.id), "orderId": str(line.order_id), "orderNumber": line.order.number,
                       "orderStatus": line.order.status, "entitlementStatus": line.entitlement_status,
                       "enrollmentId": line.enrollment_id, "fullyRefunded": line.refunded_amount >= line.total > 0,
                       "paidAt": line.order.paid_at, "lastGrantAt": line.order.last_grant_at,
                       "grantsSent": line.order.grants_sent, "externalId": line.external_id,
                       "amount": line.revenue_amount, "answeredAt": line.entitlement_answered_at,
                       "refundedAt": line.refunded_at} for line in page],
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


# --- The commerce-admin's sales overview (orders/views/sales.py) ---------------------------------------------

SOLD_STATUSES = (*PAID_STATUSES, OrderStatus.REFUNDED)  # paid once: a refunded order was a sale first


@dataclass(frozen=True)
class SalesDay:
    day: date
    gross: Decimal
    refunded: Decimal

    @property
    def net(self) -> Decimal:
        return self.gross - self.refunded


def _period(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in the site's time zone: a range the (status, paid_at) index serves."""
    zone = timezone.get_current_timezone()
    return (datetime.combine(start, time.min, tzinfo=zone),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone))


def _sold_in(start: date, end: date) -> QuerySet:
    since, until = _period(start, end)
    return Order.objects.filter(status__in=SOLD_STATUSES, paid_at__gte=since, paid_at__lt=until)


def _refunded_in(start: date, end: date) -> QuerySet:
    since, until = _period(start, end)
    return Refund.objects.filter(created_at__gte=since, created_at__lt=until)


def sales_currencies(*, start: date, end: date) -> list[str]:
    """The currencies something was sold or refunded in during the period, alphabetically. One query."""
    sold = _sold_in(start, end).values_list("currency", flat=True)
    return sorted(set(sold.union(_refunded_in(start, end).values_list("currency", flat=True))))


def sales_by_day(*, start: date, end: date, currency: str) -> list[SalesDay]:
    """Every day of the period, oldest first: what buyers paid (gross, tax included) for orders paid that day and
    what was refunded that day, in ``currency`` only. Summed in SQL per day and currency; two queries."""
    gross = dict(_sold_in(start, end).filter(currency=currency)
                 .annotate(day=TruncDate("paid_at")).values("day", "currency")
                 .annotate(total=Sum("total")).values_list("day", "total"))
    refunded = dict(_refunded_in(start, end).filter(currency=currency)
                    .annotate(day=TruncDate("created_at")).values("day", "currency")
                    .annotate(total=Sum("amount")).values_list("day", "total"))
    zero = Decimal(0)
    return [SalesDay(day=day, gross=gross.get(day) or zero, refunded=refunded.get(day) or zero)
            for day in (start + timedelta(days=offset) for offset in range((end - start).days + 1))]


def sales_by_product(*, start: date, end: date, currency: str, search: str = "") -> QuerySet:
    """Per product sold in the period in ``currency`` (bundles count their courses): units, gross (tax included),
    what has been refunded of those sales so far, net, processor fees; best-selling first. Summed in SQL; one
    query a page (plus the paginator's count)."""
    lines = OrderLine.objects.filter(order__in=_sold_in(start, end).filter(currency=currency))
    if search:
        lines = lines.filter(name__icontains=search)
    return (lines.values("product_id")
            .annotate(name=Max("name"), units=Sum("quantity"), gross=Sum("total"), refunded=Sum("refunded_amount"),
                      net=Sum(F("total") - F("refunded_amount")), fees=Sum("processor_fee"))
            .order_by("-gross", "product_id"))
