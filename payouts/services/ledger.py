"""Writing to the ledger: balanced postings and the balance projection, in one transaction.

Every writer (revenue events, releases, clearing, payouts) builds
:class:`PostingDraft` objects and hands them to :func:`postings_write` while it
holds the row locks of the balances they touch (:func:`balances_lock`). The
draft is checked here (two legs or more, credits equal debits per currency,
positive amounts): this is the model-level guard on SQLite; on PostgreSQL the
deferred trigger of migration 0002 checks the same again at commit.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import transaction

from payouts.errors import LedgerUnbalancedError
from payouts.models import PAYEE_ACCOUNTS, Account, LedgerPosting, PayoutBalance, RevenueLedgerEntry

CREDIT = RevenueLedgerEntry.Type.CREDIT
DEBIT = RevenueLedgerEntry.Type.DEBIT

# Which balance column each payee account is summed into.
BALANCE_COLUMN = {Account.PAYEE_AVAILABLE: "available", Account.PAYEE_PENDING: "pending",
                  Account.PAYEE_HELD: "held"}


@dataclass(frozen=True)
class Leg:
    account: str
    type: str
    amount: Decimal
    reason: str
    payee_user_id: str = ""


@dataclass
class PostingDraft:
    key: str
    kind: str
    currency: str
    occurred_at: datetime
    legs: list[Leg] = field(default_factory=list)
    event_id: str = ""
    event_type: str = ""
    original_event_id: str = ""
    order_id: str = ""
    product_id: str = ""
    description: str = ""

    def add(self, account: str, type: str, amount: Decimal, reason: str, payee_user_id: str = "") -> None:
        if amount:
            self.legs.append(Leg(account=account, type=type, amount=amount, reason=reason,
                                 payee_user_id=payee_user_id))


def posting_check(draft: PostingDraft) -> None:
    """Raises :class:`LedgerUnbalancedError` unless the draft can be posted as it is."""
    if len(draft.legs) < 2:
        raise LedgerUnbalancedError(details={"key": draft.key, "legs": len(draft.legs)})
    net = Decimal(0)
    for leg in draft.legs:
        if leg.amount <= 0:
            raise LedgerUnbalancedError(details={"key": draft.key, "amount": str(leg.amount)})
        if (leg.account in PAYEE_ACCOUNTS) != bool(leg.payee_user_id):
            raise LedgerUnbalancedError(details={"key": draft.key, "account": leg.account})
        net += leg.amount if leg.type == CREDIT else -leg.amount
    if net != 0:
        raise LedgerUnbalancedError(details={"key": draft.key, "net": str(net)})


def balance_keys(drafts: Iterable[PostingDraft]) -> set[tuple[str, str]]:
    return {(leg.payee_user_id, draft.currency) for draft in drafts for leg in draft.legs if leg.payee_user_id}


def balances_lock(*, keys: Iterable[tuple[str, str]], now: datetime) -> dict[tuple[str, str], PayoutBalance]:
    """The balances of these (payee, currency) pairs, created if missing, locked.

    Rows are locked in one sorted order, so two writers touching the same payees
    never deadlock. Must run inside a transaction.
    """
    keys = sorted(set(keys))
    if not keys:
        return {}
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        return _balances_upsert(connection, keys, now)
    PayoutBalance.objects.bulk_create(
        [PayoutBalance(payee_user_id=payee, currency=currency, last_updated_at=now) for payee, currency in keys],
        ignore_conflicts=True)
    payees = {payee for payee, _ in keys}
    rows = (PayoutBalance.objects.select_for_update()
            .filter(payee_user_id__in=payees, currency__in={currency for _, currency in keys})
            .order_by("payee_user_id", "currency"))
    wanted = set(keys)
    return {(row.payee_user_id, row.currency): row for row in rows if (row.payee_user_id, row.currency) in wanted}


_BALANCE_FIELDS = ("id", "payee_user_id", "currency", "available", "pending", "held", "last_updated_at")


def _balances_upsert(connection, keys: list[tuple[str, str]], now: datetime) -> dict[tuple[str, str], PayoutBalance]:
    """One statement on PostgreSQL: each row inserted, or, when it is there, locked by a no-op update (``ON
    CONFLICT DO UPDATE`` waits for a concurrent writer of the row, then returns the row as it committed it).
    The rows are taken in the order of ``keys`` (``WITH ORDINALITY``), the one order every writer uses."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO payouts_payoutbalance AS b (payee_user_id, currency, available, pending, held, "
            "last_updated_at) SELECT k.payee, k.currency, 0, 0, 0, %s FROM unnest(%s::text[], %s::text[]) "
            "WITH ORDINALITY AS k(payee, currency, n) ORDER BY k.n "
            "ON CONFLICT (payee_user_id, currency) DO UPDATE SET last_updated_at = b.last_updated_at "
            "RETURNING b.id, b.payee_user_id, b.currency, b.available, b.pending, b.held, b.last_updated_at",
            [now, [payee for payee, _ in keys], [currency for _, currency in keys]])
        rows = cursor.fetchall()
    balances = (PayoutBalance.from_db(connection.alias, _BALANCE_FIELDS, row) for row in rows)
    return {(balance.payee_user_id, balance.currency): balance for balance in balances}


def postings_write(*, drafts: Sequence[PostingDraft], balances: dict[tuple[str, str], PayoutBalance],
                   now: datetime, also_insert: Sequence[tuple[type, list, list[str]]] = ()) -> list[LedgerPosting]:
    """Writes the postings, their legs and the balance changes. ``balances`` must be locked by the caller.

    ``also_insert``: the caller's other rows of the same change, ``(model, rows, columns)`` as for
    :func:`insert_rows`; on PostgreSQL everything is one statement (each write a ``WITH`` part).
    Raises :class:`LedgerUnbalancedError` (nothing written) if any draft does not balance.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("postings_write must run inside the caller's transaction")
    for draft in drafts:
        posting_check(draft)
    postings = [LedgerPosting(key=draft.key, kind=draft.kind, event_id=draft.event_id, event_type=draft.event_type,
                              original_event_id=draft.original_event_id,
                              order_id=draft.order_id, product_id=draft.product_id, currency=draft.currency,
                              occurred_at=draft.occurred_at, created_at=now, description=draft.description[:500])
                for draft in drafts]
    writes = [(LedgerPosting, postings, ["id", "key", "kind", "event_id", "event_type", "original_event_id",
                                         "order_id", "product_id", "currency", "occurred_at", "created_at",
                                         "description"])]
    entries = []
    deltas: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for posting, draft in zip(postings, drafts, strict=True):
        for leg in draft.legs:
            entries.append(RevenueLedgerEntry(
                posting_id=posting.id, event_id=draft.event_id, order_id=draft.order_id, product_id=draft.product_id,
                type=leg.type, amount=leg.amount, currency=draft.currency, account=leg.account,
                payee_user_id=leg.payee_user_id, reason=leg.reason, created_at=now))
            if leg.payee_user_id:
                signed = leg.amount if leg.type == CREDIT else -leg.amount
                deltas[(leg.payee_user_id, draft.currency)][BALANCE_COLUMN[leg.account]] += signed
    writes.append((RevenueLedgerEntry, entries, ["posting_id", "event_id", "order_id", "product_id", "type", "amount",
                                                 "currency", "account", "payee_user_id", "reason", "created_at"]))
    writes.extend(also_insert)
    changed = []
    for key, columns in deltas.items():
        balance = balances[key]
        for column, delta in columns.items():
            setattr(balance, column, getattr(balance, column) + delta)
        balance.last_updated_at = now
        changed.append(balance)
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        for model, rows, columns in writes:
            insert_rows(model, rows, columns)
        if changed:
            PayoutBalance.objects.bulk_update(changed, ["available", "pending", "held", "last_updated_at"])
        return postings
    parts = [_insert_sql(model, rows, columns) for model, rows, columns in writes if rows]
    if changed:
        parts.append(_balances_update_sql(changed))
    if parts:
        # One round trip: the parts are data-modifying WITH queries of one statement (none reads another's
        # rows; the foreign keys and the balance trigger are checked at commit, deferred).
        sql = "".join(f"{'WITH' if index == 0 else ','} w{index} AS ({part}) "
                      for index, (part, _) in enumerate(parts[:-1])) + parts[-1][0]
        with connection.cursor() as cursor:
            cursor.execute(sql, [param for _, params in parts for param in params])
    return postings


# PostgreSQL column types for the one-statement writes below (arrays of each column, unnested).
_PG_TYPES = {"UUIDField": "uuid", "ForeignKey": "uuid", "CharField": "text", "DateTimeField": "timestamptz",
             "DecimalField": "numeric"}


def insert_rows(model, rows: list, columns: list[str]) -> None:
    """One INSERT for all rows: on PostgreSQL ``INSERT … SELECT FROM unnest(arrays)`` (profiling a batch of
    100 events showed Django's bulk_create compiling one ``(%s, …)`` parameter group per row as the largest cost);
    elsewhere the ORM's bulk_create."""
    if not rows:
        return
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        model.objects.bulk_create(rows, batch_size=500)
        return
    sql, params = _insert_sql(model, rows, columns)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _insert_sql(model, rows: list, columns: list[str]) -> tuple[str, list]:
    fields = [model._meta.get_field(name) for name in columns]
    casts = [_PG_TYPES[field.get_internal_type()] for field in fields]
    arrays = [[getattr(row, field.attname) for row in rows] for field in fields]
    for index, cast in enumerate(casts):
        if cast == "numeric":  # a default of 0 is an int; an array holds one type
            arrays[index] = [Decimal(value) for value in arrays[index]]
    # Table, columns and casts come from the model's own metadata, never from input; values are parameters.
    sql = (f"INSERT INTO {model._meta.db_table} ({', '.join(f.column for f in fields)}) "  # noqa: S608
           f"SELECT * FROM unnest({', '.join(f'%s::{cast}[]' for cast in casts)})")
    return sql, arrays


def _balances_update_sql(changed: list[PayoutBalance]) -> tuple[str, list]:
    return ("UPDATE payouts_payoutbalance AS b SET available = v.available, pending = v.pending, held = v.held, "
            "last_updated_at = v.at FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[], %s::numeric[], "
            "%s::timestamptz[]) AS v(id, available, pending, held, at) WHERE b.id = v.id",
            [[b.id for b in changed], [b.available for b in changed], [b.pending for b in changed],
             [b.held for b in changed], [b.last_updated_at for b in changed]])


def posting_write(*, draft: PostingDraft, now: datetime) -> LedgerPosting:
    """One posting, locking its balances itself (for writers that post one thing at a time)."""
    balances = balances_lock(keys=balance_keys([draft]), now=now)
    return postings_write(drafts=[draft], balances=balances, now=now)[0]
