"""Revenue events and releases from the LMS, posted to the ledger once each, in any order.

A sale (``course_sale``, ``program_sale``, ``subscription_renewal``) posts:
debit sales clearing (gross), credit processor fees (fee), credit each payee's
pending account, or held account for a split marked ``hold``. A ``refund``
mirrors its sale (``originalEventId``): each payee is debited where their
share is now (held, pending, or available, which may go negative and is
netted by later earnings), the fee account is debited and sales clearing is
credited. A release moves a held share to pending (its date: the clearing
period after the sale, never before the release); a forfeit moves it to the
platform's pending account.

Each event is posted once for good under ``event:<eventId>`` (the inbox's 7 days
are only the first line). A batch is checked first and posts nothing for an
event that fails; a refund or release whose sale is not in yet makes the whole
delivery answer 409 so the outbox retries it: never an orphan posting.
"""

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, transaction

from integration.contracts.payouts import RevenueEvent, RevenueRelease
from integration.money import UnknownCurrencyError, minor_unit
from payouts import remote
from payouts.errors import LedgerPostingConflictError, SaleNotPostedError
from payouts.models import Account, LedgerPosting, PendingAmount
from payouts.models import RevenueRelease as ReleaseRecord
from payouts.services.ledger import (
    CREDIT,
    DEBIT,
    PostingDraft,
    balance_keys,
    balances_lock,
    postings_write,
)
from payouts.services.products import product_names_record

SALE_TYPES = frozenset({"course_sale", "program_sale", "subscription_renewal"})
REFUND = "refund"

# Per-event answers (spec 6.1.3 results[].error).
SPLITS_DO_NOT_SUM = "splits_do_not_sum"
AMOUNT_NOT_IN_MINOR_UNIT = "amount_not_in_minor_unit"
UNKNOWN_CURRENCY = "unknown_currency"
UNKNOWN_PAYEE = "unknown_payee"
UNKNOWN_ORDER = "unknown_order"
CURRENCY_MISMATCH = "currency_mismatch"
FEE_DOES_NOT_ADD_UP = "gross_amount_does_not_equal_total_plus_fee"
REFUND_WITHOUT_ORIGINAL = "refund_without_original_event_id"
ORIGINAL_NOT_A_SALE = "original_event_is_not_a_sale"
REFUND_EXCEEDS_SPLIT = "refund_exceeds_the_sales_split"
NOT_HELD = "split_not_held"
NO_SUCH_SPLIT = "no_split_for_payee"


@dataclass(frozen=True)
class EventResult:
    event_id: str
    status: str  # processed | duplicate | failed
    error: str = ""

    def as_wire(self) -> dict:
        wire = {"eventId": self.event_id, "status": self.status}
        if self.error:
            wire["error"] = self.error
        return wire


@dataclass(frozen=True)
class ReleaseResult:
    event_id: str
    payee_user_id: str
    status: str  # released | forfeited | duplicate | failed
    error: str = ""

    def as_wire(self) -> dict:
        wire = {"eventId": self.event_id, "payeeUserId": self.payee_user_id, "status": self.status}
        if self.error:
            wire["error"] = self.error
        return wire


def event_key(event_id: str) -> str:
    return f"event:{event_id}"


def clearing_date(*, sold_at: datetime, now: datetime) -> datetime:
    """When a pending amount becomes available: the clearing period after the sale, never in the past."""
    return max(sold_at + timedelta(days=settings.PAYOUT_CLEARING_DAYS), now)


# Payees known to exist, kept a few minutes per process: the identity port is asked once per payee, not once
# per batch (users are never deleted, only anonymised in place; an unknown id is asked again every time).
_KNOWN_PAYEES: dict[str, float] = {}
KNOWN_PAYEE_SECONDS = 300.0


class _PayeeCache:
    def __init__(self) -> None:
        self.known: dict[str, bool] = {}

    def exists(self, user_id: str) -> bool:
        if user_id not in self.known:
            seen = _KNOWN_PAYEES.get(user_id)
            if seen is not None and time.monotonic() - seen < KNOWN_PAYEE_SECONDS:
                self.known[user_id] = True
            else:
                self.known[user_id] = remote.payee_get(user_id=user_id) is not None
                if self.known[user_id]:
                    _KNOWN_PAYEES[user_id] = time.monotonic()
        return self.known[user_id]


def known_payee_forget(user_id: str) -> None:
    """An erased account is no longer a known payee in this process."""
    _KNOWN_PAYEES.pop(str(user_id), None)


@lru_cache(maxsize=64)
def _minor_unit(currency: str) -> Decimal:
    return minor_unit(currency)


def _stateless_error(event: RevenueEvent, payees: _PayeeCache) -> str:
    try:
        unit = _minor_unit(event.currency)
    except UnknownCurrencyError:
        return UNKNOWN_CURRENCY
    amounts = [event.total_amount, *(split.amount for split in event.splits)]
    amounts += [amount for amount in (event.gross_amount, event.processor_fee) if amount is not None]
    if any(amount.quantize(unit) != amount for amount in amounts):
        return AMOUNT_NOT_IN_MINOR_UNIT
    if sum((split.amount for split in event.splits), Decimal(0)) != event.total_amount:
        return SPLITS_DO_NOT_SUM
    if event.gross_amount is not None:
        if event.gross_amount != event.total_amount + (event.processor_fee or Decimal(0)):
            return FEE_DOES_NOT_ADD_UP
    elif event.processor_fee:
        return FEE_DOES_NOT_ADD_UP
    if event.type == REFUND and not event.original_event_id:
        return REFUND_WITHOUT_ORIGINAL
    # A refund's payees are those of its sale (checked against the sale's splits when it is drafted),
    # so an account erased since the sale still has its share taken back.
    if event.type != REFUND and any(not payees.exists(split.payee_user_id) for split in event.splits):
        return UNKNOWN_PAYEE
    return ""


def _sale_draft(event: RevenueEvent) -> PostingDraft:
    gross = event.gross_amount if event.gross_amount is not None else event.total_amount
    fee = event.processor_fee or Decimal(0)
    draft = _draft(event, kind=LedgerPosting.Kind.SALE)
    draft.add(Account.SALES_CLEARING, DEBIT, gross, "sale")
    draft.add(Account.PROCESSOR_FEES, CREDIT, fee, "processor_fee")
    for split in event.splits:
        account = Account.PAYEE_HELD if split.hold else Account.PAYEE_PENDING
        draft.add(account, CREDIT, split.amount, split.reason, split.payee_user_id)
    return draft


def _draft(event: RevenueEvent, *, kind: str) -> PostingDraft:
    description = "; ".join(split.description for split in event.splits if split.description)
    return PostingDraft(key=event_key(event.event_id), kind=kind, currency=event.currency,
                        occurred_at=event.occurred_at, event_id=event.event_id, event_type=event.type,
                        order_id=event.order_id, product_id=event.product_external_id, description=description)


def _sale_lots(event: RevenueEvent, *, now: datetime) -> list[PendingAmount]:
    lots = []
    for split in event.splits:
        if not split.amount:
            continue
        lots.append(PendingAmount(
            payee_user_id=split.payee_user_id, currency=event.currency, event_id=event.event_id,
            order_id=event.order_id, product_id=event.product_external_id, reason=split.reason,
            amount=split.amount, original_amount=split.amount,
            state=PendingAmount.State.HELD if split.hold else PendingAmount.State.PENDING,
            sold_at=event.occurred_at,
            available_on=None if split.hold else clearing_date(sold_at=event.occurred_at, now=now)))
    return lots


LOT_COLUMNS = ["payee_user_id", "currency", "event_id", "order_id", "product_id", "reason", "amount", "original_amount",
               "refunded", "state", "sold_at", "available_on"]
ACCOUNT_OF_STATE = {PendingAmount.State.HELD: Account.PAYEE_HELD, PendingAmount.State.PENDING: Account.PAYEE_PENDING}


def _refund_draft(event: RevenueEvent, lots: dict[tuple[str, str], PendingAmount],
                  ) -> tuple[PostingDraft | None, str, list[PendingAmount]]:
    """The refund's posting, or an error; and the waiting lots it lowers (not yet saved)."""
    gross = event.gross_amount if event.gross_amount is not None else event.total_amount
    fee = event.processor_fee or Decimal(0)
    draft = _draft(event, kind=LedgerPosting.Kind.REFUND)
    draft.original_event_id = event.original_event_id or ""
    draft.add(Account.SALES_CLEARING, CREDIT, gross, "refund")
    draft.add(Account.PROCESSOR_FEES, DEBIT, fee, "processor_fee_refund")
    touched = []
    for split in event.splits:
        lot = lots.get((split.payee_user_id, split.reason))
        if lot is None:
            return None, REFUND_EXCEEDS_SPLIT, []
        if lot.refunded + split.amount > lot.original_amount:
            return None, REFUND_EXCEEDS_SPLIT, []
        lot.refunded += split.amount
        touched.append(lot)
        remaining = split.amount
        # A forfeited share now waits as the platform's: the refund takes it back from there.
        holder = lot.forfeited_to if lot.state == PendingAmount.State.FORFEITED and lot.forfeited_to else lot
        if holder.state in ACCOUNT_OF_STATE and holder.amount > 0:
            taken = min(remaining, holder.amount)
            draft.add(ACCOUNT_OF_STATE[holder.state], DEBIT, taken, f"refund_{split.reason}", holder.payee_user_id)
            holder.amount -= taken
            remaining -= taken
            touched.append(holder)
        draft.add(Account.PAYEE_AVAILABLE, DEBIT, remaining, f"refund_{split.reason}", holder.payee_user_id)
    return draft, "", touched


def _order_errors(events: Sequence[RevenueEvent], errors: dict[int, str], vouched: Mapping[str, str]) -> None:
    """A sale must name an order that was paid here, in that order's currency (one look-up per batch). A
    refund is checked against its sale instead, so it needs nothing more."""
    sales = {index: event for index, event in enumerate(events) if not errors[index] and event.type in SALE_TYPES}
    asked = [event.order_id for event in sales.values() if event.order_id not in vouched]
    currencies = {**remote.paid_order_currencies(order_ids=asked), **vouched}
    for index, event in sales.items():
        currency = currencies.get(event.order_id)
        if currency is None:
            errors[index] = UNKNOWN_ORDER
        elif currency != event.currency:
            errors[index] = CURRENCY_MISMATCH


def revenue_events_post(*, events: Sequence[RevenueEvent], now: datetime,
                        orders_vouched: Mapping[str, str] | None = None,
                        savepoint: bool = True) -> list[EventResult]:
    """Posts each event once; answers per event ``processed``, ``duplicate`` or ``failed`` (nothing posted).

    A sale's order must have been paid here (asked of the orders port), unless it is in ``orders_vouched``
    (order id -> currency): only the demo seed's history, which no checkout made, passes that.

    Raises :class:`SaleNotPostedError` (409, retried by the sender) when a refund's sale is not in yet.
    ``savepoint=False``: the caller's transaction is rolled back whole on any exception (the
    ``revenue.events`` handler's delivery), so no savepoint is needed when it runs inside one.
    """
    with transaction.atomic(savepoint=savepoint):
        return _events_post(events=events, now=now, orders_vouched=orders_vouched or {})


def _events_post(*, events: Sequence[RevenueEvent], now: datetime,
                 orders_vouched: Mapping[str, str]) -> list[EventResult]:
    payees = _PayeeCache()
    errors: dict[int, str] = {index: _stateless_error(event, payees) for index, event in enumerate(events)}
    _order_errors(events, errors, orders_vouched)
    candidates = [(index, event) for index, event in enumerate(events) if not errors[index]]

    original_ids = {event.original_event_id for _, event in candidates if event.type == REFUND}
    in_batch_sales = {event.event_id: event for _, event in candidates if event.type in SALE_TYPES}
    originals = {posting.event_id: posting for posting in
                 LedgerPosting.objects.filter(key__in=[event_key(i) for i in original_ids])} if original_ids else {}
    missing = sorted(i for i in original_ids if i not in originals and i not in in_batch_sales)
    if missing:
        raise SaleNotPostedError(details={"originalEventIds": missing})

    # Lock every balance this batch may touch (the refunds' payees included) before looking for
    # duplicates: a concurrent delivery of the same event waits here, then sees it posted.
    keys = {(split.payee_user_id, event.currency) for _, event in candidates for split in event.splits}
    if original_ids:
        keys |= set(PendingAmount.objects.filter(event_id__in=original_ids, forfeited_to__isnull=False)
                    .values_list("forfeited_to__payee_user_id", "currency"))
    balances = balances_lock(keys=keys, now=now)

    # The events already posted and the currency of each order already sold, in one look-up.
    keys_asked = {event_key(event.event_id) for _, event in candidates}
    order_ids = {event.order_id for _, event in candidates}
    posted: set[str] = set()
    order_currency: dict[str, str] = {}
    if candidates:
        for key, event_id, kind, order_id, currency in _postings_of(keys=keys_asked, sold_order_ids=order_ids):
            if key in keys_asked:
                posted.add(event_id)
            if kind == LedgerPosting.Kind.SALE and order_id in order_ids:
                order_currency[order_id] = currency
    lots: dict[str, dict[tuple[str, str], PendingAmount]] = {}
    if original_ids:
        # The sales' lots and the platform lots their forfeited shares became (same eventId), all locked:
        # a clearing run moving one of them waits, or has moved it before we read it.
        locked = {lot.id: lot for lot in PendingAmount.objects.select_for_update()
                  .filter(event_id__in=original_ids).order_by("id")}
        for lot in locked.values():
            if lot.reason == "forfeit":
                continue
            if lot.forfeited_to_id:
                lot.forfeited_to = locked[lot.forfeited_to_id]
            lots.setdefault(lot.event_id, {})[(lot.payee_user_id, lot.reason)] = lot

    statuses: dict[int, str] = {}
    drafts: list[PostingDraft] = []
    new_lots: list[PendingAmount] = []
    touched: dict[int, PendingAmount] = {}
    seen: set[str] = set()
    for index, event in candidates:
        if event.event_id in posted or event.event_id in seen:
            statuses[index] = "duplicate"
            continue
        if event.type == REFUND:
            original = originals.get(event.original_event_id) or in_batch_sales.get(event.original_event_id)
            original_type = original.event_type if isinstance(original, LedgerPosting) else original.type
            if original_type not in SALE_TYPES:
                errors[index] = ORIGINAL_NOT_A_SALE
                continue
            if original.currency != event.currency:
                errors[index] = CURRENCY_MISMATCH
                continue
            if isinstance(original, RevenueEvent):
                # Its sale is in this same batch: it is posted first, its lots made now.
                lots[original.event_id] = {(lot.payee_user_id, lot.reason): lot
                                           for lot in new_lots if lot.event_id == original.event_id}
            draft, error, lowered = _refund_draft(event, lots.get(event.original_event_id, {}))
            if error:
                errors[index] = error
                continue
            for lot in lowered:
                if lot.pk:
                    touched[lot.pk] = lot
        else:
            known = order_currency.get(event.order_id)
            if known and known != event.currency:
                errors[index] = CURRENCY_MISMATCH
                continue
            order_currency[event.order_id] = event.currency
            draft = _sale_draft(event)
            new_lots.extend(_sale_lots(event, now=now))
        seen.add(event.event_id)
        drafts.append(draft)
        statuses[index] = "processed"

    balances.update(balances_lock(keys=balance_keys(drafts) - set(balances), now=now))
    # No savepoint: a conflict fails the whole batch, and the service's transaction (or the caller's, rolled
    # back whole) takes back what was written.
    try:
        postings_write(drafts=drafts, balances=balances, now=now, also_insert=[(PendingAmount, new_lots, LOT_COLUMNS)])
        if touched:
            PendingAmount.objects.bulk_update(list(touched.values()), ["amount", "refunded"])
    except IntegrityError as error:
        # Only a concurrent writer that skipped our locks can get here; the retry answers "duplicate".
        raise LedgerPostingConflictError(details={"reason": str(error)[:200]}) from None
    product_names_record(product_ids=[draft.product_id for draft in drafts if draft.kind == LedgerPosting.Kind.SALE],
                         now=now)

    results = []
    for index, event in enumerate(events):
        if errors.get(index):
            results.append(EventResult(event_id=event.event_id, status="failed", error=errors[index]))
        else:
            results.append(EventResult(event_id=event.event_id, status=statuses[index]))
    return results


def _postings_of(*, keys: set[str], sold_order_ids: set[str]) -> list[tuple[str, str, str, str, str]]:
    """``(key, event_id, kind, order_id, currency)`` of the postings under ``keys`` and of the sales of
    ``sold_order_ids``: the ORM's ``filter(Q(key__in=…) | Q(kind=sale, order_id__in=…)).values_list(…)``.

    Written out because every batch asks it: building and compiling that queryset cost ~0.35 ms of CPU,
    the statement a tenth of it. Names from ``_meta``, values parameters; the same SQL on PostgreSQL and SQLite.
    """
    meta = LedgerPosting._meta
    quote = transaction.get_connection().ops.quote_name

    def column(name: str) -> str:
        return quote(meta.get_field(name).column)

    def among(values: set[str]) -> str:
        return ", ".join(["%s"] * len(values))

    conditions, params = [], []
    if keys:
        conditions.append(f"{column('key')} IN ({among(keys)})")
        params.extend(keys)
    if sold_order_ids:
        conditions.append(f"({column('kind')} = %s AND {column('order_id')} IN ({among(sold_order_ids)}))")
        params.extend([LedgerPosting.Kind.SALE.value, *sold_order_ids])
    if not conditions:
        return []
    names = ", ".join(column(name) for name in ("key", "event_id", "kind", "order_id", "currency"))
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(f"SELECT {names} FROM {quote(meta.db_table)} WHERE {' OR '.join(conditions)}", params)  # noqa: S608 (names from the model; values are parameters)
        return cursor.fetchall()


@transaction.atomic
def revenue_releases_apply(*, releases: Sequence[RevenueRelease], now: datetime) -> list[ReleaseResult]:
    """Releases held shares to pending, or forfeits them to the platform; once per (eventId, payee).

    Raises :class:`SaleNotPostedError` (409, retried by the sender) when a sale is not in yet.
    """
    event_ids = {release.event_id for release in releases}
    sales = {posting.event_id: posting for posting in
             LedgerPosting.objects.filter(key__in=[event_key(i) for i in event_ids])}
    missing = sorted(event_ids - set(sales))
    if missing:
        raise SaleNotPostedError(details={"eventIds": missing})
    platform_id = remote.platform_payee_id() if any(r.action == "forfeit" for r in releases) else None
    keys = {(release.payee_user_id, sales[release.event_id].currency) for release in releases}
    keys |= {(platform_id, sales[release.event_id].currency) for release in releases
             if platform_id and release.action == "forfeit"}
    balances = balances_lock(keys=keys, now=now)
    done = set(ReleaseRecord.objects.filter(event_id__in=event_ids)
               .values_list("event_id", "payee_user_id"))
    lots: dict[tuple[str, str], list[PendingAmount]] = {}
    for lot in (PendingAmount.objects.select_for_update().filter(event_id__in=event_ids)
                .exclude(reason="forfeit").order_by("id")):
        lots.setdefault((lot.event_id, lot.payee_user_id), []).append(lot)

    results = []
    for release in releases:
        share = (release.event_id, release.payee_user_id)
        sale = sales[release.event_id]
        if share in done:
            results.append(ReleaseResult(*share, status="duplicate"))
            continue
        held = [lot for lot in lots.get(share, []) if lot.state == PendingAmount.State.HELD]
        if not held:
            error = NOT_HELD if share in lots else NO_SUCH_SPLIT
            results.append(ReleaseResult(*share, status="failed", error=error))
            continue
        if release.action == "forfeit" and not platform_id:
            results.append(ReleaseResult(*share, status="failed", error="platform_payee_missing"))
            continue
        draft = PostingDraft(key=f"release:{release.event_id}:{release.payee_user_id}",
                             kind=LedgerPosting.Kind.RELEASE if release.action == "release"
                             else LedgerPosting.Kind.FORFEIT,
                             currency=sale.currency, occurred_at=now, event_id=sale.event_id,
                             event_type=sale.event_type, order_id=sale.order_id, product_id=sale.product_id)
        amount = Decimal(0)
        for lot in held:
            amount += lot.amount
            draft.add(Account.PAYEE_HELD, DEBIT, lot.amount, f"{release.action}_{lot.reason}", lot.payee_user_id)
            if release.action == "release":
                draft.add(Account.PAYEE_PENDING, CREDIT, lot.amount, f"release_{lot.reason}", lot.payee_user_id)
                lot.state = PendingAmount.State.PENDING
                lot.available_on = clearing_date(sold_at=lot.sold_at, now=now)
                lot.save(update_fields=["state", "available_on"])
            else:
                draft.add(Account.PAYEE_PENDING, CREDIT, lot.amount, "forfeit", platform_id)
                platform_lot = PendingAmount.objects.create(
                    payee_user_id=platform_id, currency=lot.currency, event_id=lot.event_id, order_id=lot.order_id,
                    product_id=lot.product_id, reason="forfeit", amount=lot.amount, original_amount=lot.amount,
                    state=PendingAmount.State.PENDING, sold_at=lot.sold_at,
                    available_on=clearing_date(sold_at=lot.sold_at, now=now))
                lot.state = PendingAmount.State.FORFEITED
                lot.forfeited_to = platform_lot
                lot.amount = Decimal(0)
                lot.save(update_fields=["state", "forfeited_to", "amount"])
        posting = None
        if draft.legs:
            balances.update(balances_lock(keys=balance_keys([draft]) - set(balances), now=now))
            posting = postings_write(drafts=[draft], balances=balances, now=now)[0]
        ReleaseRecord.objects.create(event_id=release.event_id, payee_user_id=release.payee_user_id,
                                     action=release.action, amount=amount, currency=sale.currency, posting=posting,
                                     created_at=now)
        done.add(share)
        results.append(ReleaseResult(*share, status="released" if release.action == "release" else "forfeited"))
    return results
