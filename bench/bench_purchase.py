"""The whole purchase, timed: cart → checkout → pay with the test gateway → entitlement → enrollment →
revenue event → ledger, one buyer after another, with every task in process.

    python bench/bench_purchase.py [--purchases 200] [--database-url postgres://…/h_bench_purchase]

Runs on PostgreSQL: it drops and re-creates the scratch database named by ``--database-url``
(default ``postgres://postgres@127.0.0.1:5432/h_h6orders_bench``), migrates it and loads the
demo data (``seed_demo``: courses, catalog prices, revenue configs, payees). Each purchase is a
new buyer buying one demo course through the orders services, the way the API does; Celery
runs eagerly and the outbox delivers after each commit in this process, so the call returns
once the LMS has enrolled the buyer, the revenue side has split the sale and the payouts
ledger has posted it (as far as those apps are installed). It prints purchases/s, p50/p99 of
one purchase, and the SQL queries per purchase; it checks that every order is completed and,
when the ledger app is there, that each sale reached it. Target: p50 < 40 ms.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/h_h6orders_bench"
P50_TARGET_MS = 40.0


def recreate_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="bench-purchase-"))
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["API_THROTTLING"] = "off"
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    os.environ.pop("REDIS_URL", None)  # tasks in process
    os.environ.pop("STRIPE_SECRET_KEY", None)  # the test gateway
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from io import StringIO

    call_command("seed_demo", stdout=StringIO())


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def demo_product():
    from integration.ports.catalog import catalog_port
    from integration.ports.learning import learning_port

    for product in learning_port().catalog_export(limit=100).products:
        if product.type != "course" or (product.metadata or {}).get("requiresApproval"):
            continue
        snapshot = catalog_port().product_by_external_id(external_id=product.external_id)
        if snapshot.purchasable and snapshot.price > 0:
            return snapshot
    raise SystemExit("no purchasable demo course: did seed_demo run?")


def purchase(user_id, product_id: str) -> str:
    from django.utils import timezone

    from orders.services.carts import cart_get_or_create, cart_item_add
    from orders.services.checkout import checkout_create
    from orders.services.payments import order_pay

    now = timezone.now()
    cart = cart_get_or_create(user_id=user_id, now=now)
    cart_item_add(cart=cart, product_id=product_id, user_id=user_id, now=now)
    order = checkout_create(user_id=user_id, now=now, billing_country="US")
    order_pay(order_id=order.pk, user_id=user_id, now=now, payment_method="pm_card_visa")
    return order.pk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--orders-only", action="store_true",
                        help="leave the outbox undelivered: times orders' own part (cart, checkout, pay)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_PURCHASE_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    recreate_database(args.database_url)
    setup_django(args.database_url)

    from django.apps import apps
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orders.models import Order, OrderStatus

    if args.orders_only:
        from integration import outbox

        outbox._enqueue_delivery = lambda message_id: None
    product = demo_product()
    users = [get_user_model().objects.create_user(email=f"bench-buyer-{n}@example.com", password=None)
             for n in range(args.warmup + args.purchases)]
    for user in users[:args.warmup]:
        purchase(user.pk, product.id)

    samples, queries, order_ids = [], [], []
    started = time.perf_counter()
    for user in users[args.warmup:]:
        with CaptureQueriesContext(connection) as captured:
            t0 = time.perf_counter()
            order_ids.append(purchase(user.pk, product.id))
            samples.append((time.perf_counter() - t0) * 1000)
        queries.append(len(captured))
    elapsed = time.perf_counter() - started

    expected = OrderStatus.PAID if args.orders_only else OrderStatus.COMPLETED
    completed = Order.objects.filter(pk__in=order_ids, status=expected).count()
    print(f"Purchase of {product.name} ({product.price} {product.currency}), {args.purchases} buyers, PostgreSQL, "
          f"{'orders only (outbox left undelivered)' if args.orders_only else 'tasks in process'}:")
    print(f"  {args.purchases / elapsed:.1f} purchases/s; one purchase p50 {statistics.median(samples):.1f} ms, "
          f"p99 {percentile(samples, 0.99):.1f} ms (target p50 < {P50_TARGET_MS:.0f} ms)")
    print(f"  SQL queries per purchase: p50 {statistics.median(queries):.0f}, max {max(queries)}")
    print(f"  orders {expected}: {completed}/{args.purchases}")
    ids = [str(pk) for pk in order_ids]
    if apps.is_installed("learning"):
        Enrollment = apps.get_model("learning", "Enrollment")
        field = next((f.name for f in Enrollment._meta.fields if f.name in {"order_id", "external_order_id"}), None)
        if field:
            print(f"  LMS enrollments made: {Enrollment.objects.filter(**{field + '__in': ids}).count()}"
                  f"/{args.purchases}")
    if apps.is_installed("payouts"):
        entries = apps.get_model("payouts", "RevenueLedgerEntry")
        booked = entries.objects.filter(order_id__in=ids).values("order_id").distinct().count()
        print(f"  sales posted to the revenue ledger: {booked}/{args.purchases}")
    ok = completed == args.purchases and statistics.median(samples) < P50_TARGET_MS
    print("  target met" if ok else "  target missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
