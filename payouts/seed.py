"""Demo earnings for ``seed_demo``: the demo instructor and creator get sales that have cleared, sales still
pending, a share held for completion, and one past payout each. Idempotent: events are posted under fixed
eventIds (a repeat answers "duplicate") and the past payouts under a fixed run key.

Each demo sale is posted as if it had been delivered when it happened (``now`` = its ``occurredAt``, oldest
first, clearing what was due by then before each): the ledger's dates, the statements' months and the chart
(which reads ``occurredAt``) agree. The ledger is append-only, so this is decided when the rows are written.
The sales are of the demo LMS courses (by title), so the pages show their names."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from integration.contracts.payouts import RevenueEvent, RevenueSplit
from integration.errors import ApplicationError
from integration.ports.identity import identity_port
from payouts import remote
from payouts.models import Payout, PayoutAccount, TaxInfo
from payouts.services.clearing import pending_amounts_clear
from payouts.services.events import revenue_events_post
from payouts.services.payouts import payout_create, payout_mark_paid
from payouts.services.settings import payout_account_set, tax_info_set

DEMO_RUN_KEY = "demo:first-payout"
# (eventId, days ago, product, gross, held?): 199.00 at 2.9% + 0.30 is DESIGN.md's worked example.
# The product is the demo LMS course's id when the LMS has it (learning's seed), else this stand-in id.
DEMO_SALES = [
    ("demo-sale-1", 75, "demo-course-python", "199.00", False),
    ("demo-sale-2", 62, "demo-course-python", "199.00", False),
    ("demo-sale-3", 45, "demo-course-data", "149.00", False),
    ("demo-sale-4", 12, "demo-course-python", "199.00", False),
    ("demo-sale-5", 4, "demo-course-data", "149.00", False),
    ("demo-sale-6", 2, "demo-course-mentored", "299.00", True),
]
DEMO_COURSE_TITLES = {"demo-course-python": "Python for Beginners", "demo-course-data": "Data Analysis with Pandas",
                      "demo-course-mentored": "Django in Depth"}


def _fee(gross: Decimal) -> Decimal:
    return (gross * Decimal("0.029") + Decimal("0.30")).quantize(Decimal("0.01"))


def _event(event_id: str, days_ago: int, product: str, gross: str, held: bool, *, now, platform: str,
           creator: str, instructor: str) -> RevenueEvent:
    gross_amount = Decimal(gross)
    fee = _fee(gross_amount)
    net = gross_amount - fee
    creator_share = (net * Decimal("0.40")).quantize(Decimal("0.01"))
    instructor_share = (net * Decimal("0.30")).quantize(Decimal("0.01"))
    platform_share = net - creator_share - instructor_share
    return RevenueEvent(
        event_id=event_id, type="course_sale", order_id=f"demo-order-{event_id[-1]}", product_external_id=product,
        total_amount=net, currency="USD", occurred_at=now - timedelta(days=days_ago), gross_amount=gross_amount,
        processor_fee=fee, splits=(
            RevenueSplit(payee_user_id=platform, amount=platform_share, reason="platform_fee"),
            RevenueSplit(payee_user_id=creator, amount=creator_share, reason="creator_share", hold=held),
            RevenueSplit(payee_user_id=instructor, amount=instructor_share, reason="instructor_share", hold=held)))


def seed_payouts(*, stdout) -> None:
    now = timezone.now()
    port = identity_port()
    try:
        instructor = str(port.user_find(email="instructor@example.com").id)
        creator = str(port.user_find(email="creator@example.com").id)
    except ApplicationError:
        stdout.write("  no demo instructor and creator (seed identity first); skipped\n")
        return
    platform = str(port.platform_payee().id)
    course_ids = remote.lms_course_ids_by_title(titles=set(DEMO_COURSE_TITLES.values()))
    events = [_event(event_id, days_ago, course_ids.get(DEMO_COURSE_TITLES[product], product), gross, held,
                     now=now, platform=platform, creator=creator, instructor=instructor)
              for event_id, days_ago, product, gross, held in DEMO_SALES]
    posted = cleared = 0
    for event in sorted(events, key=lambda event: event.occurred_at):
        cleared += pending_amounts_clear(now=event.occurred_at)
        # The demo's history has no checkout behind it: its orders are vouched for, not asked of orders.
        results = revenue_events_post(events=[event], now=event.occurred_at,
                                      orders_vouched={event.order_id: event.currency})
        posted += sum(result.status == "processed" for result in results)
    cleared += pending_amounts_clear(now=now)
    stdout.write(f"  {'created' if posted else 'kept   '} {len(events)} demo sales in the ledger "
                 f"({cleared} amount(s) cleared to available)\n")

    for email, payee, account in (("instructor@example.com", instructor, {"method": "stripe_connect",
                                                                         "stripe_account_id": "acct_1DemoInstructor"}),
                                  ("creator@example.com", creator, {"method": "manual", "account_holder": "Demo Creator",
                                                                    "account_number": "DE89370400440532013000",
                                                                    "bank_name": "Demo Bank"})):
        if not PayoutAccount.objects.filter(payee_user_id=payee).exists():
            payout_account_set(payee_user_id=payee, now=now, **account)
        if not TaxInfo.objects.filter(payee_user_id=payee).exists():
            tax_info_set(payee_user_id=payee, legal_name=email.split("@")[0].title(), country="US",
                         tax_id="000-00-" + payee[-4:].upper(), form="w9", now=now)
        if Payout.objects.filter(payee_user_id=payee, run_key=DEMO_RUN_KEY).exists():
            stdout.write(f"  kept    past payout for {email}\n")
            continue
        payout = payout_create(payee_user_id=payee, currency="USD", amount=Decimal("100.00"),
                               now=now - timedelta(days=1), run_key=DEMO_RUN_KEY)
        payout_mark_paid(payout_id=payout.id, transfer_id=f"demo-transfer-{payout.id.hex[:8]}", now=now)
        stdout.write(f"  created past payout of $100.00 for {email}\n")
