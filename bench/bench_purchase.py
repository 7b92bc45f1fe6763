"""The whole purchase, timed: cart → checkout → pay with the test gateway → entitlement → enrollment →
revenue event → ledger, one buyer after another, with tasks in process or on a real Celery worker.

    python bench/bench_purchase.py [--purchases 200] [--database-url postgres://…/bench_purchase]
    python bench/bench_purchase.py --breakdown          # statements and commits per stage and per app
    python bench/bench_purchase.py --celery [--workers 2] [--redis-url redis://127.0.0.1:6379/2]
    python bench/bench_purchase.py --profile [--sort tottime]   # cProfile of the in-process purchases

Runs on PostgreSQL: it drops and re-creates the scratch database named by ``--database-url``
(default ``postgres://postgres@127.0.0.1:5432/bench_purchase``), migrates it and loads the
demo data (``seed_demo``: courses, catalog prices, revenue configs, payees). Each purchase is a
new buyer buying one demo course through the orders services, the way the API does.

* In process (the default): Celery runs eagerly and the outbox delivers after each commit in this
  process, so the call returns once the LMS has enrolled the buyer, the revenue side has split the
  sale and the payouts ledger has posted it. It prints purchases/s, p50/p99 of one purchase, the
  CPU time of this process per purchase (the steadier figure on a shared machine), and the SQL
  statements and commits per purchase. Target: p50 < 40 ms.
* ``--orders-only`` leaves the outbox undelivered: orders' own part (cart, checkout, pay).
* ``--breakdown`` counts statements and commits per stage (cart, checkout, pay, each outbox
  delivery by topic) and, within each, per app and function (from the call stack: slow, so no
  timings are printed with it).
* ``--profile`` runs the in-process purchases under cProfile and prints the functions with the most
  time (``--sort``: ``cumulative`` or ``tottime``), plus the CPU share of each app (frames of our code
  attributed to the innermost app function on the stack).
* ``--celery`` spawns ``celery -A config worker`` (``--workers`` processes) on its own Redis database
  and key prefix, with tasks not eager: the bench process does cart, checkout and pay, the worker
  delivers the grant, the enrollment's lifecycle and the revenue event. It prints, one purchase at a
  time, p50/p99 from the cart until the order is completed (the LMS's answer stored), then the same
  purchases all sent at once: purchases/s until the last order is completed, and p50/p99 of each.
  The worker is stopped at the end.
"""

import argparse
import collections
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import recreate_database

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_purchase"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/2"
P50_TARGET_MS = 40.0
APPS = ("orders", "catalog", "learning", "revenue", "payouts", "identity", "integration")


def bench_environment(url: str, redis_url: str | None, key_prefix: str) -> dict:
    """The environment of this process and of the worker it may spawn (one VAR_DIR: the same local secrets)."""
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": url,
        "VAR_DIR": os.environ.get("VAR_DIR") or tempfile.mkdtemp(prefix="bench-purchase-"),
        "LOG_LEVEL": "WARNING",
        "API_THROTTLING": "off",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "CELERY_BROKER_KEY_PREFIX": key_prefix,
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def setup_django(env: dict) -> None:
    """Migrates and seeds with tasks in process (the demo data's own messages delivered at once), then
    sets Django up in this process with ``env`` (a broker when ``env`` has ``REDIS_URL``)."""
    os.environ.pop("STRIPE_SECRET_KEY", None)  # the test gateway
    eager = {key: value for key, value in {**os.environ, **env}.items() if key != "REDIS_URL"}
    for command in (["migrate", "--verbosity", "0"], ["seed_demo"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=BASE_DIR, env=eager, check=True,
                       stdout=subprocess.DEVNULL)
    os.environ.update(env)
    if "REDIS_URL" not in env:
        os.environ.pop("REDIS_URL", None)  # tasks in process
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def demo_product():
    from integration.ports.catalog import catalog_port
    from integration.ports.learning import learning_port

    # By name: the export's order (keyset on updatedAt) varies from one seed to the next.
    for product in sorted(learning_port().catalog_export(limit=100).products, key=lambda p: (p.name, p.external_id)):
        if product.type != "course" or (product.metadata or {}).get("requiresApproval"):
            continue
        snapshot = catalog_port().product_by_external_id(external_id=product.external_id)
        if snapshot.purchasable and snapshot.price > 0:
            return snapshot
    raise SystemExit("no purchasable demo course: did seed_demo run?")


def purchase(user_id, product_id: str, stage=None) -> str:
    """One buyer's cart, checkout and payment (what the API's three calls do); ``stage(name)`` marks each."""
    from django.utils import timezone

    from orders.services.carts import cart_product_add
    from orders.services.checkout import checkout_create
    from orders.services.payments import order_pay

    stage = stage or (lambda name: contextlib.nullcontext())
    now = timezone.now()
    with stage("cart"):
        cart_product_add(user_id=user_id, product_id=product_id, now=now)
    with stage("checkout"):
        order = checkout_create(user_id=user_id, now=now, billing_country="US")
    with stage("pay"):
        order_pay(order_id=order.pk, user_id=user_id, now=now, payment_method="pm_card_visa")
    return order.pk


class Counter:
    """Statements and commits of this process's connection (commits are not statements Django logs)."""

    def __init__(self, connection):
        self.connection, self.statements, self.commits, self.autocommitted = connection, 0, 0, 0
        self._commit = connection._commit

    def __enter__(self):
        def counting_commit(*args, **kwargs):
            self.commits += 1
            return self._commit(*args, **kwargs)

        self.connection._commit = counting_commit
        self._wrapper = self.connection.execute_wrapper(self._count)
        self._wrapper.__enter__()
        return self

    def _count(self, execute, sql, params, many, context):
        self.statements += 1
        if not self.connection.in_atomic_block:  # a statement outside any transaction of ours commits by itself
            self.autocommitted += 1
        return execute(sql, params, many, context)

    def __exit__(self, *exc):
        self._wrapper.__exit__(*exc)
        self.connection._commit = self._commit


def users_for(count: int) -> list:
    from django.contrib.auth import get_user_model

    return [get_user_model().objects.create_user(email=f"bench-buyer-{uuid.uuid4().hex[:12]}@example.com",
                                                 password=None) for _ in range(count)]


def ledger_lines(ids: list[str], count: int) -> list[str]:
    from django.apps import apps

    lines = []
    if apps.is_installed("learning"):
        Enrollment = apps.get_model("learning", "Enrollment")
        field = next((f.name for f in Enrollment._meta.fields if f.name in {"commerce_order_id", "order_id"}), None)
        if field:
            lines.append(f"  LMS enrollments made: {Enrollment.objects.filter(**{field + '__in': ids}).count()}"
                         f"/{count}")
    if apps.is_installed("payouts"):
        entries = apps.get_model("payouts", "RevenueLedgerEntry")
        booked = entries.objects.filter(order_id__in=ids).values("order_id").distinct().count()
        lines.append(f"  sales posted to the revenue ledger: {booked}/{count}")
    return lines


def load_average() -> str:
    with contextlib.suppress(OSError):
        return ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return "?"


# --- in process -----------------------------------------------------------------------------------

def run_in_process(args, product) -> int:
    from django.db import connection

    from orders.models import Order, OrderStatus

    if args.orders_only:
        from integration import outbox

        outbox._enqueue_delivery = lambda message_id: None
    users = users_for(args.warmup + args.purchases)
    for user in users[:args.warmup]:
        purchase(user.pk, product.id)
    load_before = load_average()
    samples, statements, commits, autocommitted, order_ids = [], [], [], [], []
    started, cpu_started = time.perf_counter(), time.process_time()
    for user in users[args.warmup:]:
        with Counter(connection) as counted:
            t0 = time.perf_counter()
            order_ids.append(purchase(user.pk, product.id))
            samples.append((time.perf_counter() - t0) * 1000)
        statements.append(counted.statements)
        commits.append(counted.commits)
        autocommitted.append(counted.autocommitted)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started

    expected = OrderStatus.PAID if args.orders_only else OrderStatus.COMPLETED
    completed = Order.objects.filter(pk__in=order_ids, status=expected).count()
    print(f"Purchase of {product.name} ({product.price} {product.currency}), {args.purchases} buyers, PostgreSQL, "
          f"{'orders only (outbox left undelivered)' if args.orders_only else 'tasks in process'}:")
    print(f"  {args.purchases / elapsed:.1f} purchases/s; one purchase p50 {statistics.median(samples):.1f} ms, "
          f"p99 {percentile(samples, 0.99):.1f} ms (target p50 < {P50_TARGET_MS:.0f} ms)")
    print(f"  CPU time of this process per purchase: {cpu / args.purchases * 1000:.1f} ms")
    print(f"  SQL statements per purchase: p50 {statistics.median(statements):.0f}, max {max(statements)} "
          f"(savepoints included; BEGIN/COMMIT not); commits per purchase: {statistics.median(commits):.0f} "
          f"transactions, plus {statistics.median(autocommitted):.0f} statements outside any (each its own)")
    print(f"  load average before / after: {load_before} / {load_average()} (2 cores)")
    print(f"  orders {expected}: {completed}/{args.purchases}")
    for line in ledger_lines([str(pk) for pk in order_ids], args.purchases):
        print(line)
    ok = completed == args.purchases and statistics.median(samples) < P50_TARGET_MS
    print("  target met" if ok else "  target missed")
    return 0 if completed == args.purchases else 1


# --- breakdown ------------------------------------------------------------------------------------

def run_breakdown(args, product) -> int:
    """Statements and commits per stage, and per app/function within each stage (from the call stack)."""
    import contextvars

    from django.db import connection

    from integration import outbox
    from integration.models import OutboxMessage

    current = contextvars.ContextVar("stage", default="?")
    statements: collections.Counter = collections.Counter()
    commits: collections.Counter = collections.Counter()
    root = str(BASE_DIR) + os.sep

    def where() -> str:
        for frame in reversed(traceback.extract_stack()[:-3]):
            path = frame.filename
            if path.startswith(root) and ".venv" not in path and "/bench/" not in path:
                relative = path[len(root):]
                if relative.split(os.sep)[0] in APPS:
                    return f"{relative}:{frame.name}"
        return "?"

    def count(execute, sql, params, many, context):
        statements[(current.get(), where())] += 1
        return execute(sql, params, many, context)

    real_commit = connection._commit

    def counting_commit(*a, **k):
        commits[current.get()] += 1
        return real_commit(*a, **k)

    real_deliver = outbox.outbox_deliver

    def deliver(*, message_id, **kwargs):
        topic = OutboxMessage.objects.filter(message_id=message_id).values_list("topic", flat=True).first()
        token = current.set(f"delivery: {topic}")
        try:
            return real_deliver(message_id=message_id, **kwargs)
        finally:
            current.reset(token)

    @contextlib.contextmanager
    def stage(name):
        token = current.set(name)
        try:
            yield
        finally:
            current.reset(token)

    users = users_for(args.warmup + args.purchases)
    for user in users[:args.warmup]:
        purchase(user.pk, product.id)
    outbox.outbox_deliver = deliver
    connection._commit = counting_commit
    with connection.execute_wrapper(count):
        for user in users[args.warmup:]:
            purchase(user.pk, product.id, stage=stage)
    connection._commit = real_commit
    outbox.outbox_deliver = real_deliver
    n = args.purchases
    per_stage: collections.Counter = collections.Counter()
    for (name, _), value in statements.items():
        per_stage[name] += value
    print(f"Statements and commits per purchase, by stage ({n} purchases; the topic look-up of each delivery, "
          "1 statement, is the breakdown's own):")
    for name, value in sorted(per_stage.items(), key=lambda pair: -pair[1]):
        print(f"  {name:34} {value / n:5.1f} statements, {commits[name] / n:.1f} commits")
    print(f"  {'total':34} {sum(per_stage.values()) / n:5.1f} statements, {sum(commits.values()) / n:.1f} commits")
    print("By stage, app and function:")
    for (name, place), value in sorted(statements.items()):
        print(f"  {name:34} {place:72} {value / n:4.1f}")
    return 0


# --- profile ------------------------------------------------------------------------------------------

def run_profile(args, product) -> int:
    """The purchases under cProfile: the top functions, and each app's share of the profiled time."""
    import cProfile
    import pstats

    users = users_for(args.warmup + args.purchases)
    for user in users[:args.warmup]:
        purchase(user.pk, product.id)
    profiler = cProfile.Profile()
    profiler.enable()
    for user in users[args.warmup:]:
        purchase(user.pk, product.id)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    print(f"cProfile of {args.purchases} purchases in process: {total / args.purchases * 1000:.1f} ms a purchase "
          "under the profiler (slower than unprofiled)")
    root = str(BASE_DIR) + os.sep
    by_app: collections.Counter = collections.Counter()
    for (path, _, _), (_, _, own, _, _) in stats.stats.items():
        name = path[len(root):].split(os.sep)[0] if path.startswith(root) and ".venv" not in path else "libraries"
        by_app[name if name in APPS else "libraries"] += own
    print("Own time by where the code lives (library time counted as libraries, not as its caller):")
    for name, own in by_app.most_common():
        print(f"  {name:12} {own / total * 100:5.1f} %")
    stats.sort_stats(args.sort).print_stats(args.top)
    return 0


# --- a real Celery worker --------------------------------------------------------------------------

def spawn_worker(env: dict, workers: int) -> subprocess.Popen:
    command = [str(Path(sys.executable).with_name("celery")), "-A", "config", "worker", "--loglevel", "WARNING",
               "--without-gossip", "--without-mingle", "--without-heartbeat", "--concurrency", str(workers),
               "--pool", "prefork"]
    return subprocess.Popen(command, cwd=BASE_DIR, env={**os.environ, **env}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=open(Path(env["VAR_DIR"]) / "worker.log", "w"))


def stop_worker(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_completed(order_ids: list, timeout: float) -> dict:
    """order id → completed_at, polling until every order is completed (or the time runs out)."""
    from orders.models import Order, OrderStatus

    deadline, done = time.monotonic() + timeout, {}
    while time.monotonic() < deadline:
        pending = [pk for pk in order_ids if pk not in done]
        if not pending:
            break
        done.update(Order.objects.filter(pk__in=pending, status=OrderStatus.COMPLETED)
                    .values_list("pk", "completed_at"))
        if len(done) < len(order_ids):
            time.sleep(0.002)
    return done


def run_with_worker(args, product, env: dict) -> int:
    from django.db import close_old_connections

    from config.celery import app

    assert not app.conf.task_always_eager, "REDIS_URL must be set: tasks are not eager with a worker"
    worker = spawn_worker(env, args.workers)
    try:
        users = users_for(args.warmup + 2 * args.purchases)
        # Warm-up: the worker has started and delivered when the first orders complete.
        warm = [purchase(user.pk, product.id) for user in users[:args.warmup]]
        if len(wait_completed(warm, timeout=120)) < len(warm):
            print(f"the worker completed no order within 120 s; see {env['VAR_DIR']}/worker.log")
            return 1
        load_before = load_average()
        one_by_one, cpu_started = [], time.process_time()
        sequential = users[args.warmup:args.warmup + args.purchases]
        sequential_ids = []
        for user in sequential:
            t0 = time.time()
            order_id = purchase(user.pk, product.id)
            done = wait_completed([order_id], timeout=60)
            if order_id in done:
                one_by_one.append((done[order_id].timestamp() - t0) * 1000)
            sequential_ids.append(order_id)
        sequential_cpu = time.process_time() - cpu_started
        burst_users = users[args.warmup + args.purchases:]
        started, starts, burst_ids = time.time(), {}, []
        for user in burst_users:
            t0 = time.time()
            order_id = purchase(user.pk, product.id)
            starts[order_id] = t0
            burst_ids.append(order_id)
        sent = time.time() - started
        done = wait_completed(burst_ids, timeout=300)
        close_old_connections()
        last = max(done.values()).timestamp() if done else time.time()
        burst = [(done[pk].timestamp() - starts[pk]) * 1000 for pk in burst_ids if pk in done]
        print(f"Purchase of {product.name} ({product.price} {product.currency}), PostgreSQL, a Celery worker "
              f"on Redis ({args.workers} processes, tasks not eager):")
        if one_by_one:
            print(f"  one at a time ({args.purchases}): until the order is completed p50 "
                  f"{statistics.median(one_by_one):.1f} ms, p99 {percentile(one_by_one, 0.99):.1f} ms; "
                  f"this process's CPU (cart, checkout, pay, polling) {sequential_cpu / args.purchases * 1000:.1f} "
                  f"ms per purchase; completed {len(one_by_one)}/{args.purchases}")
        if burst:
            print(f"  all at once ({args.purchases}, sent in {sent:.2f} s): {len(burst) / (last - started):.1f} "
                  f"purchases/s until the last is completed; each until completed p50 "
                  f"{statistics.median(burst):.1f} ms, p99 {percentile(burst, 0.99):.1f} ms; "
                  f"completed {len(burst)}/{args.purchases}")
        print(f"  load average before / after: {load_before} / {load_average()} (2 cores)")
        ids = [str(pk) for pk in sequential_ids + burst_ids]
        deadline = time.monotonic() + 120  # the revenue split and the ledger posting come after completion
        while time.monotonic() < deadline and f"{len(ids)}/{len(ids)}" not in ledger_lines(ids, len(ids))[-1]:
            time.sleep(0.5)
        for line in ledger_lines(ids, len(ids)):
            print(line)
        return 0 if len(one_by_one) == len(burst) == args.purchases else 1
    finally:
        stop_worker(worker)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--orders-only", action="store_true",
                        help="leave the outbox undelivered: times orders' own part (cart, checkout, pay)")
    parser.add_argument("--breakdown", action="store_true",
                        help="statements and commits per stage and per app (no timings)")
    parser.add_argument("--profile", action="store_true", help="cProfile of the in-process purchases")
    parser.add_argument("--sort", default="cumulative", choices=("cumulative", "tottime"),
                        help="with --profile: the order of the functions printed")
    parser.add_argument("--top", type=int, default=40, help="with --profile: how many functions to print")
    parser.add_argument("--celery", action="store_true", help="a real Celery worker on Redis, spawned here")
    parser.add_argument("--workers", type=int, default=2, help="worker processes with --celery")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_PURCHASE_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_PURCHASE_REDIS_URL", DEFAULT_REDIS_URL),
                        help="with --celery: the Redis database of this bench (a key prefix of its own per run)")
    args = parser.parse_args()
    recreate_database(args.database_url)
    env = bench_environment(args.database_url, args.redis_url if args.celery else None,
                            key_prefix=f"bench-purchase-{uuid.uuid4().hex[:8]}:")
    setup_django(env)
    product = demo_product()
    if args.celery:
        return run_with_worker(args, product, env)
    if args.breakdown:
        return run_breakdown(args, product)
    if args.profile:
        return run_profile(args, product)
    return run_in_process(args, product)


if __name__ == "__main__":
    sys.exit(main())
