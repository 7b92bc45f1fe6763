"""Ledger benchmark: revenue events posted per second, balance reads and reconciliation at 1,000,000 entries.

    python bench/bench_ledger.py [--batches 30] [--entries 1000000] [--database-url postgres://…/bench_ledger]

Runs on PostgreSQL (the targets are PostgreSQL's): it drops and re-creates the
scratch database named by ``--database-url`` (default
``postgres://postgres@127.0.0.1:5432/bench_ledger``), migrates it, then

1. posts ``--batches`` batches of 100 course-sale events (3 splits each: platform,
   creator, instructor, over 20 payees) through ``revenue_events_post``, the
   service the ``revenue.events`` handler calls, with the database triggers on;
   target >= 1,000 events/s;
2. bulk-loads balanced postings until the ledger holds ``--entries`` legs (SQL
   ``generate_series``; the balance check trigger is disabled for the load only,
   the legs are generated in balanced pairs and the balances are set from their
   sums), then times ``balance_get`` (target <= 20 ms);
3. times ``ledger_reconcile`` over the whole ledger (target < 60 s) and reports the
   Python heap peak (tracemalloc) and the process's peak RSS growth: flat memory.

Exits 1 if a target is missed.
"""

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import recreate_database

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_ledger"
EVENTS_PER_SECOND_TARGET = 1000
BALANCE_READ_TARGET_MS = 20.0
RECONCILE_TARGET_S = 60.0


def setup_django(url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="bench-ledger-"))
    os.environ["LOG_LEVEL"] = "WARNING"
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_payees(count: int) -> tuple[str, list[str]]:
    from django.contrib.auth import get_user_model

    from integration.ports.identity import identity_port

    users = [get_user_model()(email=f"bench-payee-{i}@example.com") for i in range(count)]
    for user in users:
        user.set_unusable_password()
    get_user_model().objects.bulk_create(users)
    return str(identity_port().platform_payee().id), [str(user.pk) for user in users]


def bench_events(*, batches: int, platform: str, payees: list[str]) -> float:
    from django.utils import timezone

    from integration.contracts.orders import PaidOrder, PaidOrders
    from integration.contracts.payouts import RevenueEvent, RevenueSplit
    from integration.ports.base import override
    from integration.ports.orders import OrdersPort
    from orders.providers import LocalOrders
    from payouts.services.events import revenue_events_post

    class BenchOrdersPaid(LocalOrders):
        """The bench's orders were never checked out: the real look-up runs (its one query per batch is
        in the figure), then every bench order counts as paid in USD."""

        def paid_orders(self, *, order_ids: list[str]) -> PaidOrders:
            super().paid_orders(order_ids=order_ids)
            return PaidOrders(orders=tuple(PaidOrder(order_id=order_id, currency="USD") for order_id in order_ids))

    override(OrdersPort, BenchOrdersPaid())
    now = timezone.now()

    def event(n: int) -> RevenueEvent:
        creator, instructor = payees[n % len(payees)], payees[(n * 7 + 3) % len(payees)]
        return RevenueEvent(
            event_id=f"bench-{n}-{uuid.uuid4().hex[:8]}", type="course_sale", order_id=f"bench-order-{n}",
            product_external_id=f"course-{n % 50}", total_amount=Decimal("192.93"), currency="USD",
            occurred_at=now, gross_amount=Decimal("199.00"), processor_fee=Decimal("6.07"),
            splits=(RevenueSplit(payee_user_id=platform, amount=Decimal("57.88"), reason="platform_fee"),
                    RevenueSplit(payee_user_id=creator, amount=Decimal("77.17"), reason="creator_share"),
                    RevenueSplit(payee_user_id=instructor, amount=Decimal("57.88"), reason="instructor_share",
                                 hold=n % 4 == 0)))

    revenue_events_post(events=[event(-1 - i) for i in range(100)], now=now)  # warm-up
    timings = []
    for batch in range(batches):
        events = [event(batch * 100 + i) for i in range(100)]
        started = time.perf_counter()
        results = revenue_events_post(events=events, now=now)
        timings.append(time.perf_counter() - started)
        assert all(result.status == "processed" for result in results), results[:3]
    rate = 100 * batches / sum(timings)
    print(f"revenue events: {100 * batches} in {batches} batches of 100: {rate:,.0f} events/s "
          f"(batch p50 {statistics.median(timings) * 1000:.1f} ms, max {max(timings) * 1000:.1f} ms)")
    return rate


def bulk_load(*, entries: int) -> None:
    """Balanced pairs (sales clearing debit, a payee's pending credit) over 1,000 synthetic payees."""
    from django.db import connection, transaction

    from payouts.models import RevenueLedgerEntry

    existing = RevenueLedgerEntry.objects.count()
    postings = max(0, (entries - existing) // 2)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE payouts_revenueledgerentry DISABLE TRIGGER payouts_posting_balanced")
        cursor.execute("""
            CREATE TEMP TABLE bench_postings ON COMMIT DROP AS
            SELECT gen_random_uuid() AS id, n, 'bulk-payee-' || (n %% 1000) AS payee,
                   (1 + n %% 200)::numeric(19, 4) AS amount
              FROM generate_series(1, %s) AS n""", [postings])
        cursor.execute("""
            INSERT INTO payouts_ledgerposting (id, key, kind, event_id, event_type, original_event_id, order_id,
                                               product_id, currency, occurred_at, created_at, description)
            SELECT id, 'event:bulk-' || n, 'sale', 'bulk-' || n, 'course_sale', '', 'bulk-order-' || n,
                   'course-' || (n % 50), 'USD', now(), now(), '' FROM bench_postings""")
        cursor.execute("""
            INSERT INTO payouts_revenueledgerentry (posting_id, event_id, order_id, product_id, type, amount,
                                                    currency, account, payee_user_id, reason, created_at)
            SELECT id, 'bulk-' || n, 'bulk-order-' || n, 'course-' || (n % 50), leg.type, amount, 'USD',
                   leg.account, CASE WHEN leg.account = 'sales_clearing' THEN '' ELSE payee END, leg.reason, now()
              FROM bench_postings
             CROSS JOIN (VALUES ('debit', 'sales_clearing', 'sale'),
                                ('credit', 'payee_pending', 'instructor_share')) AS leg(type, account, reason)""")
        cursor.execute("""
            INSERT INTO payouts_payoutbalance (payee_user_id, currency, available, pending, held, last_updated_at)
            SELECT payee, 'USD', 0, sum(amount), 0, now() FROM bench_postings GROUP BY payee""")
    with connection.cursor() as cursor:
        # After the commit: Django's deferred foreign-key checks are still pending inside the load's transaction.
        cursor.execute("ALTER TABLE payouts_revenueledgerentry ENABLE TRIGGER payouts_posting_balanced")
        cursor.execute("VACUUM ANALYZE payouts_revenueledgerentry")
        cursor.execute("VACUUM ANALYZE payouts_payoutbalance")
    total = RevenueLedgerEntry.objects.count()
    print(f"bulk load: {total:,} ledger entries in the ledger ({time.perf_counter() - started:.1f} s to load)")


def bench_balance_reads(*, payees: list[str], reads: int = 2000) -> float:
    from payouts.models import RevenueLedgerEntry
    from payouts.selectors import balance_get

    samples = []
    for i in range(reads):
        payee = payees[i % len(payees)] if i % 2 else f"bulk-payee-{i % 1000}"
        started = time.perf_counter_ns()
        balance_get(payee_user_id=payee, currency="USD")
        samples.append(time.perf_counter_ns() - started)
    samples.sort()
    p50, p99 = samples[len(samples) // 2] / 1e6, samples[int(len(samples) * 0.99)] / 1e6
    from django.db import connection

    baseline = []
    with connection.cursor() as cursor:
        for _ in range(reads):
            started = time.perf_counter_ns()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            baseline.append(time.perf_counter_ns() - started)
        cursor.execute("EXPLAIN SELECT * FROM payouts_payoutbalance WHERE payee_user_id = 'bulk-payee-7' "
                       "AND currency = 'USD'")
        plan = cursor.fetchone()[0]
    baseline.sort()
    print(f"balance read at {RevenueLedgerEntry.objects.count():,} entries: p50 {p50:.3f} ms, p99 {p99:.3f} ms "
          f"over {reads} reads; a bare SELECT 1 round trip meanwhile: p50 {baseline[len(baseline) // 2] / 1e6:.3f} ms, "
          f"p99 {baseline[int(len(baseline) * 0.99)] / 1e6:.3f} ms; plan: {plan.strip()}")
    print(f"load average during the run: {', '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores)")
    return p99


def bench_reconcile() -> tuple[float, bool]:
    from payouts.selectors import ledger_reconcile

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    started = time.perf_counter()
    report = ledger_reconcile()
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    print(f"reconcile ledger: {report.balances_checked:,} balances against {report.entries_summed:,} payee entries "
          f"in {elapsed:.2f} s; ok={report.ok}; Python heap peak {peak / 1024 / 1024:.1f} MiB, "
          f"peak RSS growth {rss_growth / 1024:.1f} MiB")
    return elapsed, report.ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_LEDGER_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        print("bench_ledger needs PostgreSQL (--database-url postgres://…)", file=sys.stderr)
        return 2
    print(f"bench_ledger on {urlparse(args.database_url).path.lstrip('/')} at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    recreate_database(args.database_url)
    setup_django(args.database_url)
    platform, payees = make_payees(20)
    rate = bench_events(batches=args.batches, platform=platform, payees=payees)
    bulk_load(entries=args.entries)
    p99 = bench_balance_reads(payees=payees)
    elapsed, ok = bench_reconcile()
    failed = []
    if rate < EVENTS_PER_SECOND_TARGET:
        failed.append(f"events/s {rate:.0f} < {EVENTS_PER_SECOND_TARGET}")
    if p99 > BALANCE_READ_TARGET_MS:
        failed.append(f"balance read p99 {p99:.1f} ms > {BALANCE_READ_TARGET_MS} ms")
    if elapsed > RECONCILE_TARGET_S or not ok:
        failed.append(f"reconcile {elapsed:.1f} s (ok={ok})")
    print("targets: " + ("all met" if not failed else "MISSED: " + "; ".join(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
