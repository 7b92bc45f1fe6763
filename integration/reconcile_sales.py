"""``manage.py reconcile sales``: what Commerce sold against what reached the payouts ledger, through the ports.

Run on the Commerce side (it owns the orders and serves the payouts ledger). A sale travels: the LMS grants
the order line, learning sends ``enrollment.activated`` (``enrollment.lifecycle``), the revenue app splits it
and sends a ``course_sale``/``program_sale`` (``revenue.events``, eventId ``rev_sale_<enrollmentId>``), and
payouts posts it; a full refund sends ``entitlement.revoked``, the LMS revokes, revenue sends a ``refund``
naming the sale and payouts posts its debits. This job walks the ledger's sales and refunds
(``PayoutsPort.ledger_sales``, one keyset page at a time; it holds the sales in memory, a few hundred bytes
each, and the ids of the sales refunded), then every line of every paid order (``OrdersPort.paid_lines``),
matched by order and product (the ``orderId`` and ``productExternalId`` a revenue event carries), and finds:

* **sale missing**: a line enrolled on Commerce (``granted``: one awaiting approval is not sold yet), not fully
  refunded, that earns more than zero (total less tax), with no sale in the ledger, paid (or last granted or
  answered) longer ago than ``ENTITLEMENT_RESEND_AFTER_MINUTES``; younger ones are *in flight*, counted;
* **sale amount**: a sale posted for another gross than the line earns;
* **duplicate sale**: more than one course or program sale posted for one line (its money counted twice);
* **refund missing**: a fully refunded line whose sale was posted but whose refund was not, refunded longer
  ago than the same window (younger: in flight);
* **unpaid sale**: a sale in the ledger for an order and product that is no paid order line. ``seed_demo``'s
  history, posted with no checkout behind it, is counted apart, not compared.

A share held until completion (release policy ``on_completion``, the instructor's also until the interaction
requirement is met) is posted with its sale, to the payee's held account: the sale is in the ledger from the
start, so a held share is no difference, and its release or forfeit (moves inside the ledger) is not compared
here. A line refused, waiting or awaiting approval has nothing posted yet, and a free one never has.

What it fixes: for each line with a difference, the messages of its chain still pending in the outbox are
delivered now, in the chain's order: the order's (``order:<id>``: grants and revokes), then, where this
deployment also runs the LMS (the monolith: one outbox table), the enrollment's lifecycle events
(``enrollment:<id>``) and revenue's events and releases (``revenue:enrollment:<id>``). Then it compares again;
what is left is reported with the chain's messages that were not delivered (dead letters named) and the hook
raises. Split, Commerce can deliver only its own outbox: the LMS's part of the chain is named, to be looked
at (and replayed) on the LMS.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from integration import routes
from integration.contracts.orders import PaidLine
from integration.contracts.payouts import LedgerSale
from integration.models import OutboxMessage
from integration.money import UnknownCurrencyError, quantize
from integration.reconcile import Compared, Difference, Report, deliver_waiting, keyset_walk, report_write

ONE_OFF_SALES = frozenset({"course_sale", "program_sale"})  # once per line; a renewal may come again
REFUND = "refund"
GRANTED = "granted"
IN_FLIGHT = "in flight"


@dataclass(frozen=True)
class SaleDifference(Difference):
    # kind: sale_missing, sale_amount, duplicate_sale, refund_missing, unpaid_sale
    enrollment_id: str = ""


@dataclass
class SalesComparison(Compared):
    ledger_sales: int = 0
    ledger_refunds: int = 0
    demo_sales: int = 0  # seed_demo's history: no orders behind it, not compared


def _canonical(value: str) -> str:
    """An id as both sides write it (a UUID in its canonical form; anything else as it is)."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(value)


def _key(order_id: str, product: str) -> tuple[str, str]:
    return _canonical(order_id), _canonical(product)


def _money(amount: Decimal, currency: str) -> str:
    try:
        return f"{quantize(amount, currency)} {currency}"
    except UnknownCurrencyError:
        return f"{amount} {currency}"


def _at(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "never"


def sales_compare(*, now: datetime, page_size: int = 500) -> SalesComparison:
    from integration.ports.orders import orders_port
    from integration.ports.payouts import payouts_port

    result = SalesComparison()
    sales: dict[tuple[str, str], list[LedgerSale]] = {}
    refunded: set[str] = set()  # the sales a refund was posted for
    for sale in keyset_walk(payouts_port().ledger_sales, page_size=page_size, items="sales"):
        if sale.type == REFUND:
            result.ledger_refunds += 1
            refunded.add(sale.original_event_id or "")
        elif sale.demo:
            result.demo_sales += 1
        else:
            result.ledger_sales += 1
            sales.setdefault(_key(sale.order_id, sale.product_external_id), []).append(sale)
    window = timedelta(minutes=settings.ENTITLEMENT_RESEND_AFTER_MINUTES)
    for line in keyset_walk(orders_port().paid_lines, page_size=page_size):
        result.order_lines += 1
        posted = sales.pop(_key(line.order_id, line.external_id), [])
        found = _line_difference(line, posted, refunded, now=now, window=window)
        if found == IN_FLIGHT:
            result.in_flight += 1
        elif found:
            kind, text = found
            result.differences.append(SaleDifference(
                kind, line.order_id, line.line_id, f"order {line.order_number} line {line.line_id}: {text}",
                order_number=line.order_number, enrollment_id=line.enrollment_id))
    for posted in sales.values():
        for sale in posted:
            result.differences.append(SaleDifference(
                "unpaid_sale", sale.order_id, "",
                f"the ledger's sale {sale.event_id} ({_money(sale.gross_amount, sale.currency)}, "
                f"{_at(sale.occurred_at)}) names order {sale.order_id or '?'} and product "
                f"{sale.product_external_id or '?'}, which is no paid order line"))
    return result


def _line_difference(line: PaidLine, posted: list[LedgerSale], refunded: set[str], *, now: datetime,
                     window: timedelta) -> tuple[str, str] | str | None:
    once = [sale for sale in posted if sale.type in ONE_OFF_SALES]
    if len(once) > 1:
        return "duplicate_sale", (f"{len(once)} sales are posted for it ({', '.join(s.event_id for s in once)}): "
                                  "its money is counted more than once")
    sale = posted[0] if posted else None
    if line.fully_refunded:
        if sale is None or sale.event_id in refunded:
            return None  # nothing was posted, or it was given back
        if line.refunded_at and now - line.refunded_at < window:
            return IN_FLIGHT
        return "refund_missing", (f"refunded in full {_at(line.refunded_at)}, but the refund of its sale "
                                  f"{sale.event_id} ({_money(sale.gross_amount, sale.currency)}) is not in "
                                  "the payouts ledger")
    if line.entitlement_status != GRANTED or line.amount <= 0:
        return None  # not sold yet (waiting, awaiting approval, refused), or free: nothing is posted for it
    if sale is None:
        since = max((moment for moment in (line.paid_at, line.last_grant_at, line.answered_at) if moment),
                    default=now)
        if now - since < window:
            return IN_FLIGHT
        return "sale_missing", (f"enrolled and paid (earns {line.amount.normalize():f}; paid {_at(line.paid_at)}, "
                                f"answered {_at(line.answered_at)}), but no sale for it is in the payouts ledger")
    try:
        earned = quantize(line.amount, sale.currency)
    except UnknownCurrencyError:
        earned = line.amount
    if sale.gross_amount != earned:
        return "sale_amount", (f"the ledger's sale {sale.event_id} is for {_money(sale.gross_amount, sale.currency)}, "
                               f"the line earns {_money(line.amount, sale.currency)}")
    return None


def _chain(difference: SaleDifference) -> list[str]:
    """The outbox aggregates of the line's sale and refund, in the order they travel (the LMS's only where
    this deployment holds them)."""
    if not difference.line_id:
        return []
    keys = [f"order:{difference.order_id}"]
    if difference.enrollment_id and routes.serves(routes.LMS):
        keys += [f"enrollment:{difference.enrollment_id}", f"revenue:enrollment:{difference.enrollment_id}"]
    return keys


def _label(difference: SaleDifference) -> str:
    return f"order {difference.order_number or difference.order_id} line {difference.line_id}"


def _not_delivered(differences: list[SaleDifference]) -> list[str]:
    """For each difference left, its chain's messages not delivered here (dead letters named), or what
    cannot be seen from here."""
    notes = []
    for difference in differences:
        keys = _chain(difference)
        if not keys:
            continue
        stuck = (OutboxMessage.objects.filter(aggregate_key__in=keys)
                 .exclude(status=OutboxMessage.Status.DELIVERED).order_by("id")
                 .values_list("message_id", "topic", "aggregate_key", "status", "attempts", "last_error"))
        found = False
        for message_id, topic, key, status, attempts, error in stuck:
            found = True
            what = "DEAD LETTER" if status == OutboxMessage.Status.DEAD else status.upper()
            notes.append(f"{what} {topic} message {message_id} ({key}) for {_label(difference)}: "
                         f"{attempts} attempt(s), {error[:160] or 'no error recorded'}")
        if not found:
            notes.append(f"NOTHING WAITING for {_label(difference)}: no message of its chain ({', '.join(keys)}) is "
                         "pending or dead in this outbox (never sent, delivered but not posted, or removed)")
        if difference.enrollment_id and not routes.serves(routes.LMS):
            notes.append(f"ON THE LMS for {_label(difference)}: its outbox holds enrollment:{difference.enrollment_id} "
                         f"and revenue:enrollment:{difference.enrollment_id} (look for dead letters there)")
    return notes


def sales_reconcile(*, now: datetime | None = None, page_size: int = 500) -> Report:
    now = now or timezone.now()
    first = sales_compare(now=now, page_size=page_size)
    fixed: list[str] = []
    done: set[str] = set()
    for difference in first.differences:
        for key in _chain(difference):
            if key not in done:
                done.add(key)
                fixed += deliver_waiting(key, _label(difference))
    final = sales_compare(now=now, page_size=page_size) if fixed else first
    return Report(first=first, final=final, fixed=fixed, left=_not_delivered(final.differences))


def reconcile_sales_hook(*, stdout, full: bool = False, **_: object) -> int:
    """Hook ``reconcile.sales``: prints what it found and fixed; raises while differences are left."""
    if not routes.serves(routes.COMMERCE):
        stdout.write("  nothing to compare here: run it on the Commerce side, which holds the orders and the ledger\n")
        return 0
    report = sales_reconcile()
    first = report.first
    stdout.write(f"  {first.order_lines} paid order line(s) against {first.ledger_sales} sale(s) and "
                 f"{first.ledger_refunds} refund(s) in the payouts ledger; {first.in_flight} in flight (within "
                 f"{settings.ENTITLEMENT_RESEND_AFTER_MINUTES} min); {first.demo_sales} demo sale(s) not compared\n")
    return report_write(report, stdout=stdout,
                        unfixed_message="What Commerce sold and what the payouts ledger holds still differ.")
