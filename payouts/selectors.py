"""Reads: balances (O(1), one row), pending dates, the ledger, earnings, payouts, statements, reconciliation."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Case, Count, DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, When
from django.db.models.functions import TruncMonth
from django.utils import timezone

from integration.contracts.payouts import LEDGER_SALES_MAX_LIMIT
from integration.errors import ValidationFailedError
from payouts.models import (
    PAYEE_ACCOUNTS,
    Account,
    LedgerPosting,
    Payout,
    PayoutAccount,
    PayoutBalance,
    PayoutHold,
    PayoutSchedule,
    PendingAmount,
    ProductName,
    RevenueLedgerEntry,
    TaxInfo,
)

DEFAULT_CURRENCY = "USD"
ZERO = Decimal(0)
# Below the ledger's 4 decimal places: SQLite sums decimals as floats, PostgreSQL exactly.
HALF_TICK = Decimal("0.00005")
TICK = Decimal("0.0001")
SIGNED = Case(When(type=RevenueLedgerEntry.Type.CREDIT, then=F("amount")), default=-F("amount"),
              output_field=DecimalField(max_digits=19, decimal_places=4))
SHARE_REASONS = ("instructor_share", "creator_share", "platform_fee", "affiliate", "other", "forfeit")


@dataclass(frozen=True)
class BalanceView:
    payee_user_id: str
    currency: str
    available: Decimal
    pending: Decimal  # what waits for its date, including what is held for completion
    held: Decimal
    last_updated_at: datetime | None


def balance_get(*, payee_user_id: str, currency: str | None = None) -> BalanceView:
    """One indexed row, whatever the ledger's size. Without ``currency``: the most recently changed one."""
    rows = PayoutBalance.objects.filter(payee_user_id=payee_user_id)
    # The unique (payee, currency) index answers it; no ORDER BY, so no sort either.
    row = (next(iter(rows.filter(currency=currency).order_by()[:1]), None) if currency
           else rows.order_by("-last_updated_at").first())
    if row is None:
        return BalanceView(payee_user_id, currency or DEFAULT_CURRENCY, ZERO, ZERO, ZERO, None)
    return BalanceView(row.payee_user_id, row.currency, row.available, row.pending + row.held, row.held,
                       row.last_updated_at)


def balance_list(*, payee_user_id: str) -> list[BalanceView]:
    return [BalanceView(row.payee_user_id, row.currency, row.available, row.pending + row.held, row.held,
                        row.last_updated_at)
            for row in PayoutBalance.objects.filter(payee_user_id=payee_user_id).order_by("currency")]


def pending_schedule(*, payee_user_id: str, currency: str) -> list[dict]:
    """What becomes available when: one row per date, plus the held total (no date until completion)."""
    lots = PendingAmount.objects.filter(payee_user_id=payee_user_id, currency=currency, amount__gt=0)
    by_date = (lots.filter(state=PendingAmount.State.PENDING).values("available_on__date").annotate(total=Sum("amount"), count=Count("id"))
               .order_by("available_on__date"))
    rows = [{"date": row["available_on__date"], "amount": row["total"], "count": row["count"], "held": False}
            for row in by_date]
    held = lots.filter(state=PendingAmount.State.HELD).aggregate(total=Sum("amount"), count=Count("id"))
    if held["total"]:
        rows.append({"date": None, "amount": held["total"], "count": held["count"], "held": True})
    return rows


def held_shares(*, payee_user_id: str) -> QuerySet[PendingAmount]:
    return PendingAmount.objects.filter(payee_user_id=payee_user_id, state=PendingAmount.State.HELD,
                                        amount__gt=0).order_by("sold_at")


def ledger_entries(*, payee_user_id: str | None = None, account: str | None = None) -> QuerySet[RevenueLedgerEntry]:
    """Legs newest first, for one payee (all their accounts), one account, or everything (admins)."""
    entries = RevenueLedgerEntry.objects.select_related("posting")
    if payee_user_id:
        entries = entries.filter(payee_user_id=payee_user_id)
    if account:
        entries = entries.filter(account=account)
    return entries.order_by("-id")


def earnings_by_month(*, payee_user_id: str, currency: str, months: int = 12, today: date | None = None) -> dict:
    """Chart data: earned (sales and forfeits credited) and refunded per month, oldest first."""
    today = today or timezone.now().date()
    start = (today.replace(day=1) - timedelta(days=31 * (months - 1))).replace(day=1)
    rows = (RevenueLedgerEntry.objects
            .filter(payee_user_id=payee_user_id, currency=currency, posting__occurred_at__date__gte=start,
                    posting__kind__in=[LedgerPosting.Kind.SALE, LedgerPosting.Kind.REFUND, LedgerPosting.Kind.FORFEIT])
            .annotate(month=TruncMonth("posting__occurred_at"))
            .values("month", "posting__kind")
            .annotate(total=Sum(SIGNED)).order_by("month"))
    labels, earned, refunded = [], [], []
    cursor = start
    by_key = {(row["month"].date() if hasattr(row["month"], "date") else row["month"], row["posting__kind"]):
              row["total"] for row in rows}
    while cursor <= today:
        labels.append(cursor.strftime("%Y-%m"))
        # A forfeit credits the platform and debits the payee's held share: both count as earnings moves.
        earned.append(str((by_key.get((cursor, "sale")) or ZERO) + (by_key.get((cursor, "forfeit")) or ZERO)))
        refunded.append(str(-(by_key.get((cursor, "refund")) or ZERO)))
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    return {"currency": currency, "labels": labels, "earned": earned, "refunded": refunded}


def earnings_by_product(*, payee_user_id: str, currency: str) -> list[dict]:
    """Per course or program: sales, earned, refunded, net (one grouped query)."""
    rows = (RevenueLedgerEntry.objects
            .filter(payee_user_id=payee_user_id, currency=currency,
                    posting__kind__in=[LedgerPosting.Kind.SALE, LedgerPosting.Kind.REFUND])
            .values("product_id")
            .annotate(earned=Sum("amount", filter=Q(posting__kind=LedgerPosting.Kind.SALE)),
                      refunded=Sum("amount", filter=Q(posting__kind=LedgerPosting.Kind.REFUND)),
                      sales=Count("posting", filter=Q(posting__kind=LedgerPosting.Kind.SALE), distinct=True))
            .order_by("-earned"))
    rows = list(rows)
    names = product_names(product_ids=[row["product_id"] for row in rows])
    return [{"product_id": row["product_id"], "name": names.get(row["product_id"], ""), "sales": row["sales"],
             "earned": row["earned"] or ZERO,
             "refunded": row["refunded"] or ZERO, "net": (row["earned"] or ZERO) - (row["refunded"] or ZERO)}
            for row in rows]


def product_names(*, product_ids) -> dict[str, str]:
    """The names of these products (LMS ids), one query however many; a product never named is left out."""
    ids = {product_id for product_id in product_ids if product_id}
    if not ids:
        return {}
    return dict(ProductName.objects.filter(external_id__in=ids).values_list("external_id", "name"))


def product_ids_named(*, search: str) -> QuerySet:
    """The ids of the products whose name contains ``search`` (a subquery for the ledger's search)."""
    return ProductName.objects.filter(name__icontains=search).values("external_id")


def payouts_of(*, payee_user_id: str) -> QuerySet[Payout]:
    return Payout.objects.filter(payee_user_id=payee_user_id).order_by("-created_at")


def payout_settings(*, payee_user_id: str) -> dict:
    return {
        "account": PayoutAccount.objects.filter(payee_user_id=payee_user_id).first(),
        "tax_info": TaxInfo.objects.filter(payee_user_id=payee_user_id).first(),
        "schedule": PayoutSchedule.objects.filter(payee_user_id=payee_user_id).first(),
        "hold": PayoutHold.objects.filter(payee_user_id=payee_user_id, released_at__isnull=True).first(),
    }


def statement_entries(*, payee_user_id: str, year: int, month: int) -> QuerySet[RevenueLedgerEntry]:
    start = datetime(year, month, 1, tzinfo=timezone.get_current_timezone())
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=start.tzinfo)
    return (RevenueLedgerEntry.objects.select_related("posting")
            .filter(payee_user_id=payee_user_id, created_at__gte=start, created_at__lt=end).order_by("id"))


def statement_summary(*, payee_user_id: str, year: int, month: int) -> list[dict]:
    """Per currency and account: credits, debits and net for the month."""
    rows = (statement_entries(payee_user_id=payee_user_id, year=year, month=month).order_by()
            .values("currency", "account")
            .annotate(credits=Sum("amount", filter=Q(type="credit")), debits=Sum("amount", filter=Q(type="debit")))
            .order_by("currency", "account"))
    return [{**row, "credits": row["credits"] or ZERO, "debits": row["debits"] or ZERO,
             "net": (row["credits"] or ZERO) - (row["debits"] or ZERO)} for row in rows]


def personal_data(*, payee_user_id: str) -> dict:
    """A payee's earnings and payouts for their data download (JSON types only)."""
    settings_ = payout_settings(payee_user_id=payee_user_id)
    account, tax = settings_["account"], settings_["tax_info"]
    return {
        "balances": [{"currency": b.currency, "availableBalance": str(b.available), "pendingBalance": str(b.pending),
                      "heldBalance": str(b.held)} for b in balance_list(payee_user_id=payee_user_id)],
        "ledger": [{"id": str(e.id), "eventId": e.event_id, "orderId": e.order_id, "productId": e.product_id,
                    "type": e.type, "amount": str(e.amount), "currency": e.currency, "account": e.account,
                    "reason": e.reason, "createdAt": e.created_at.isoformat()}
                   for e in RevenueLedgerEntry.objects.filter(payee_user_id=payee_user_id).order_by("id").iterator()],
        "payouts": [{"id": str(p.id), "amount": str(p.amount), "currency": p.currency, "status": p.status,
                     "method": p.method, "destination": p.destination, "createdAt": p.created_at.isoformat(),
                     "completedAt": p.completed_at.isoformat() if p.completed_at else None}
                    for p in payouts_of(payee_user_id=payee_user_id)],
        "payoutAccount": None if account is None else {
            "method": account.method, "stripeAccountId": account.stripe_account_id or None,
            "bankAccountLast4": account.bank_last4 or None},
        "taxInfo": None if tax is None else {"legalName": tax.legal_name, "country": tax.country, "form": tax.form,
                                             "taxIdLast4": tax.tax_id_last4},
    }


# --- Reconciliation ------------------------------------------------------------------

@dataclass
class ReconcileReport:
    balances_checked: int = 0
    entries_summed: int = 0
    differences: list[dict] = field(default_factory=list)
    unbalanced_postings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences and not self.unbalanced_postings


def _sums_by_balance() -> Iterator[tuple[tuple[str, str], dict[str, Decimal], int]]:
    """Ledger sums per (payee, currency), streamed in key order (the database groups; memory stays flat)."""
    rows = (RevenueLedgerEntry.objects.filter(account__in=list(PAYEE_ACCOUNTS)).order_by()
            .values("payee_user_id", "currency", "account").annotate(total=Sum(SIGNED), legs=Count("id"))
            .order_by("payee_user_id", "currency", "account").iterator(chunk_size=2000))
    current, sums, legs = None, {}, 0
    for row in rows:
        key = (row["payee_user_id"], row["currency"])
        if key != current:
            if current is not None:
                yield current, sums, legs
            current, sums, legs = key, {}, 0
        sums[row["account"]] = row["total"] or ZERO
        legs += row["legs"]
    if current is not None:
        yield current, sums, legs


def ledger_reconcile(*, limit: int = 100) -> ReconcileReport:
    """Proves each balance equals the sum of its entries (and each posting balances); lists differences."""
    report = ReconcileReport()
    balances = (PayoutBalance.objects.order_by("payee_user_id", "currency")
                .values_list("payee_user_id", "currency", "available", "pending", "held").iterator(chunk_size=2000))
    sums = _sums_by_balance()
    balance, summed = next(balances, None), next(sums, None)
    while balance is not None or summed is not None:
        balance_key = (balance[0], balance[1]) if balance is not None else None
        summed_key = summed[0] if summed is not None else None
        if summed_key is None or (balance_key is not None and balance_key < summed_key):
            expected = {}
            actual = balance
            balance = next(balances, None)
        elif balance_key is None or summed_key < balance_key:
            expected, actual = summed[1], (*summed_key, ZERO, ZERO, ZERO)
            report.entries_summed += summed[2]
            summed = next(sums, None)
        else:
            expected, actual = summed[1], balance
            report.entries_summed += summed[2]
            balance, summed = next(balances, None), next(sums, None)
        report.balances_checked += 1
        for column, account in (("available", Account.PAYEE_AVAILABLE), ("pending", Account.PAYEE_PENDING),
                                ("held", Account.PAYEE_HELD)):
            value = {"available": actual[2], "pending": actual[3], "held": actual[4]}[column]
            want = Decimal(expected.get(account, ZERO)).quantize(TICK)
            if value != want and len(report.differences) < limit:
                report.differences.append({"payeeUserId": actual[0], "currency": actual[1], "column": column,
                                           "balance": str(value), "ledger": str(want),
                                           "difference": str(value - want)})
    unbalanced = (RevenueLedgerEntry.objects.order_by().values("posting_id", "currency")
                  .annotate(net=Sum(SIGNED), legs=Count("id")).filter(Q(net__gt=HALF_TICK) | Q(net__lt=-HALF_TICK) | Q(legs__lt=2))
                  .values_list("posting_id", flat=True)[:limit])
    report.unbalanced_postings = [str(posting_id) for posting_id in unbalanced]
    return report


def ledger_sales_page(*, after: str | None = None, limit: int | None = None) -> dict:
    """One keyset page (by posting id) of the ledger's sales and refunds, with what each moved through sales
    clearing: ``PayoutsPort.ledger_sales``, what ``reconcile sales`` compares with the paid order lines. One
    query a page (the clearing leg read by a subquery on the posting's legs)."""
    from payouts.seed import DEMO_SALES  # seed imports the services, which import this module

    limit = max(1, min(int(limit or 500), LEDGER_SALES_MAX_LIMIT))
    clearing = (RevenueLedgerEntry.objects.filter(posting=OuterRef("pk"), account=Account.SALES_CLEARING)
                .order_by().values("amount")[:1])
    postings = (LedgerPosting.objects.filter(kind__in=(LedgerPosting.Kind.SALE, LedgerPosting.Kind.REFUND))
                .order_by("id").annotate(gross=Subquery(clearing))
                .values_list("id", "event_id", "event_type", "order_id", "product_id", "currency", "occurred_at",
                             "original_event_id", "gross"))
    if after:
        try:
            postings = postings.filter(id__gt=uuid.UUID(str(after)))
        except ValueError:
            raise ValidationFailedError(details={"after": ["Not a cursor this list gave out."]}) from None
    rows = list(postings[:limit + 1])
    page = rows[:limit]
    demo = {event_id for event_id, *_ in DEMO_SALES}
    return {"sales": [{"eventId": event_id, "type": event_type, "orderId": order_id, "productExternalId": product_id,
                       "grossAmount": gross if gross is not None else ZERO, "currency": currency,
                       "occurredAt": occurred_at, "originalEventId": original or None, "demo": event_id in demo}
                      for _, event_id, event_type, order_id, product_id, currency, occurred_at, original, gross
                      in page],
            "nextCursor": str(page[-1][0]) if len(rows) > limit else None}
