"""``manage.py reconcile enrollments``: what Commerce sold against what the LMS holds, through the two ports.

Run on the Commerce side (it owns the orders and the outbox of grants and revokes). It walks the LMS's
entitlement lines (``LearningPort.entitlement_lines``, one keyset page at a time, over signed HTTP when
split) and then every line of every paid order (``OrdersPort.paid_lines``), and finds:

* **waiting**: a paid line the LMS has not answered for, paid longer ago than
  ``ENTITLEMENT_RESEND_AFTER_MINUTES`` (``reconcile entitlements``, run before this in ``all``, has pushed
  its grant again); younger ones are *in flight* and counted, not differences;
* **not enrolled**: a line Commerce shows as enrolled (granted or awaiting approval, not fully refunded)
  whose LMS line is missing or revoked, or whose enrollment is revoked or rejected there; a paid line
  the LMS refused (``failed``) that was not refunded;
* **still enrolled**: a refunded (revoked) line whose enrollment, opened by that line, is still live on the LMS;
* **unpaid enrollment**: a live enrollment an LMS line opened for an order line that is not a paid one.

What it fixes: for each order with a difference, the order's messages still waiting in the outbox
(aggregate ``order:<id>``: grants and revokes the LMS did not take) are delivered now; then it compares
again, and what is left is reported as unfixed (the hook raises, the command exits non-zero). It holds
the LMS's lines in memory (about 200 bytes each) and one page of order lines at a time.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from integration import routes
from integration.contracts.learning import EntitlementLineRef
from integration.contracts.orders import PaidLine
from integration.errors import ReconcileDifferencesError
from integration.models import OutboxMessage
from integration.outbox import outbox_deliver_now

HELD = frozenset({"pending", "active", "completed", "expired"})  # the person has (or had, in full) access
LIVE = frozenset({"pending", "active", "completed"})
ENROLLED = frozenset({"granted", "pending_approval"})  # what Commerce shows as enrolled


@dataclass(frozen=True)
class Difference:
    kind: str  # waiting, not_enrolled, still_enrolled, unpaid_enrollment
    order_id: str
    line_id: str
    text: str
    order_number: str = ""


@dataclass
class Compared:
    """What every comparison of the paid order lines counts."""

    order_lines: int = 0
    in_flight: int = 0
    differences: list[Difference] = field(default_factory=list)


@dataclass
class Comparison(Compared):
    lms_lines: int = 0


@dataclass
class Report:
    """A job's two comparisons: before and after what it fixed."""

    first: Compared
    final: Compared
    fixed: list[str] = field(default_factory=list)  # what was done, one line each
    left: list[str] = field(default_factory=list)  # notes on what is left (e.g. the messages not delivered)

    @property
    def ok(self) -> bool:
        return not self.final.differences


def report_write(report: Report, *, stdout, unfixed_message: str | None = None) -> int:
    """Prints what a job found, fixed and left (after its own headline); raises while differences are left."""
    first = report.first
    for difference in first.differences:
        stdout.write(f"  FOUND {difference.kind}: {difference.text}\n")
    for line in report.fixed:
        stdout.write(f"  {line}\n")
    for difference in report.final.differences:
        stdout.write(f"  UNFIXED {difference.kind}: {difference.text}\n")
    for note in report.left:
        stdout.write(f"  {note}\n")
    left = len(report.final.differences)
    stdout.write(f"  {len(first.differences)} difference(s) found, {max(len(first.differences) - left, 0)} fixed, "
                 f"{left} left\n")
    if left:
        raise ReconcileDifferencesError(unfixed_message, details={
            "differences": left, "kinds": sorted({d.kind for d in report.final.differences})})
    return 0


def keyset_walk(fetch, *, page_size: int, items: str = "lines") -> Iterator:
    """Every item of a port's keyset-paged list (``fetch(after=, limit=)`` answering its ``items`` and
    ``next_cursor``), one page in memory at a time."""
    cursor = None
    while True:
        page = fetch(after=cursor, limit=page_size)
        yield from getattr(page, items)
        if not page.next_cursor:
            return
        cursor = page.next_cursor


def enrollments_compare(*, now: datetime, page_size: int = 500) -> Comparison:
    from integration.ports.learning import learning_port
    from integration.ports.orders import orders_port

    result = Comparison()
    lms: dict[str, EntitlementLineRef] = {}
    for ref in keyset_walk(learning_port().entitlement_lines, page_size=page_size):
        result.lms_lines += 1
        lms[ref.order_item_id] = ref
    window = timedelta(minutes=settings.ENTITLEMENT_RESEND_AFTER_MINUTES)
    for line in keyset_walk(orders_port().paid_lines, page_size=page_size):
        result.order_lines += 1
        ref = lms.pop(line.line_id, None)
        difference = _line_difference(line, ref, now=now, window=window)
        if difference == "in flight":
            result.in_flight += 1
        elif difference:
            result.differences.append(Difference(difference[0], line.order_id, line.line_id,
                                                 f"order {line.order_number} line {line.line_id}: {difference[1]}",
                                                 order_number=line.order_number))
    for ref in lms.values():
        if ref.state == "granted" and ref.created_enrollment and ref.enrollment_status in LIVE:
            result.differences.append(Difference(
                "unpaid_enrollment", ref.order_id, ref.order_item_id,
                f"LMS enrollment {ref.enrollment_id} ({ref.enrollment_status}) was opened for order {ref.order_id} "
                f"line {ref.order_item_id or '?'}, which is no paid order line"))
    return result


def _live_enrollment(ref: EntitlementLineRef | None) -> bool:
    return bool(ref and ref.state == "granted" and ref.created_enrollment and ref.enrollment_status in LIVE)


def _line_difference(line: PaidLine, ref: EntitlementLineRef | None, *, now: datetime,
                     window: timedelta) -> tuple[str, str] | str | None:
    status = line.entitlement_status
    if status == "revoked" or line.fully_refunded:
        if _live_enrollment(ref):
            return "still_enrolled", (f"refunded, but its enrollment {ref.enrollment_id} is still "
                                      f"{ref.enrollment_status} on the LMS")
        return None
    if status == "pending":
        since = line.paid_at or now
        if now - since < window:
            return "in flight"
        last = line.last_grant_at.isoformat(timespec="seconds") if line.last_grant_at else "never"
        return "waiting", (f"paid {since.isoformat(timespec='seconds')}, still waiting for the LMS "
                           f"({line.grants_sent} grant(s) sent, the last {last})")
    if status == "failed":
        if _live_enrollment(ref):
            return None  # refused once, enrolled by a later grant whose answer is on its way
        return "not_enrolled", "the LMS refused it and it was not refunded"
    if status in ENROLLED:
        if ref is None:
            return "not_enrolled", "enrolled on Commerce, but the LMS has no such order line"
        if ref.state != "granted":
            return "not_enrolled", "enrolled on Commerce, but the LMS revoked the line"
        if ref.enrollment_status not in HELD:
            return "not_enrolled", (f"enrolled on Commerce, but its enrollment {ref.enrollment_id} is "
                                    f"{ref.enrollment_status or 'missing'} on the LMS")
    return None


def deliver_waiting(aggregate_key: str, label: str) -> list[str]:
    """The aggregate's outbox messages still pending, delivered now in their order; what happened to each
    ("FIXED" when it was delivered, "TRIED" when the receiver still did not take it)."""
    done = []
    waiting = (OutboxMessage.objects.filter(aggregate_key=aggregate_key, status=OutboxMessage.Status.PENDING)
               .order_by("id").values_list("message_id", "topic", "payload__event"))
    for message_id, topic, event in waiting:
        message = outbox_deliver_now(message_id=message_id)
        delivered = message.status == OutboxMessage.Status.DELIVERED
        outcome = "delivered" if delivered else f"still {message.status}: {message.last_error[:120]}"
        done.append(f"{'FIXED' if delivered else 'TRIED'} {label}: sent the waiting "
                    f"{event or topic} again now (attempt {message.attempts}, {outcome})")
    return done


def _deliver_waiting(order_id: str, order_number: str) -> list[str]:
    return deliver_waiting(f"order:{order_id}", f"order {order_number or order_id}")


def enrollments_reconcile(*, now: datetime | None = None, page_size: int = 500) -> Report:
    now = now or timezone.now()
    first = enrollments_compare(now=now, page_size=page_size)
    fixed: list[str] = []
    orders = {d.order_id: d.order_number for d in first.differences if d.order_id}
    for order_id, order_number in orders.items():
        fixed += _deliver_waiting(order_id, order_number)
    final = enrollments_compare(now=now, page_size=page_size) if fixed else first
    return Report(first=first, final=final, fixed=fixed)


def reconcile_enrollments_hook(*, stdout, full: bool = False, **_: object) -> int:
    """Hook ``reconcile.enrollments``: prints what it found and fixed; raises while differences are left."""
    if not routes.serves(routes.COMMERCE):
        stdout.write("  nothing to compare here: run it on the Commerce side, which holds the orders\n")
        return 0
    report = enrollments_reconcile()
    first = report.first
    stdout.write(f"  {first.order_lines} paid order line(s) against {first.lms_lines} LMS entitlement line(s); "
                 f"{first.in_flight} in flight (paid within {settings.ENTITLEMENT_RESEND_AFTER_MINUTES} min)\n")
    return report_write(report, stdout=stdout)
