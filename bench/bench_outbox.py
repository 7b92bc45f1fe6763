"""Integration backbone benchmark: outbox throughput, sweep recovery, and the signed webhook path.

    python bench/bench_outbox.py [--messages 2000] [--profile]

Runs on a throwaway SQLite database in a temporary VAR_DIR, or on DATABASE_URL when
that is set (point it at a scratch database: the benchmark migrates it and writes
rows). The receiver is a minimal handler registered for ``catalog.sync`` here, so
the figures are the backbone's own cost (contract check, outbox row, delivery,
inbox claim, attempt record), not a domain handler's. Webhook requests go through
Django's full middleware stack in process (no socket). Deliveries run in this
process (the outbox calls the delivery directly, as with the embedded default)
whatever REDIS_URL says; Redis, when set, is the cache. Each figure comes with
the statements and commits per message, counted on the connection; ``--profile``
prints where the send + deliver time goes (cProfile, top functions by own time).
"""

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR / "bench"))
from bench_identity import setup_django, summary  # noqa: E402


def payload(n: int) -> dict:
    return {"source": "lms", "idempotencyKey": f"bench-{uuid.uuid4()}", "products": [{
        "action": "upsert", "externalId": f"course-{n}", "type": "course", "name": f"Course {n}",
        "suggestedPrice": "199.00", "currency": "USD", "metadata": {"departmentId": "dept-1"}}]}


class StatementCounter:
    """Counts the statements and commits sent on the default connection (an execute wrapper)."""

    def __init__(self):
        self.statements = 0
        self.commits = 0

    def __call__(self, execute, sql, params, many, context):
        self.statements += 1
        return execute(sql, params, many, context)

    @contextlib.contextmanager
    def counting(self):
        from django.db import connection

        real_commit = connection.commit

        def commit():
            self.commits += 1
            return real_commit()

        connection.commit = commit
        try:
            with connection.execute_wrapper(self):
                yield self
        finally:
            del connection.commit


def per_message(counter: StatementCounter, messages: int) -> str:
    return f"{counter.statements / messages:.1f} statements and {counter.commits / messages:.1f} commits per message"


def bench_send_and_deliver(messages: int) -> tuple[list[int], float]:
    """Each message written in its own transaction and delivered after commit (in-process tasks).

    Also notes this process's CPU time per message in ``CPU_MS`` (steadier than wall time on a busy machine).
    """
    from django.db import transaction

    from integration.outbox import outbox_send

    samples = []
    started, cpu_started = time.perf_counter(), time.process_time()
    for n in range(messages):
        t0 = time.perf_counter_ns()
        with transaction.atomic():
            outbox_send(topic="catalog.sync", payload=payload(n), aggregate_key=f"course:{n}")
        samples.append(time.perf_counter_ns() - t0)
    CPU_MS["send+deliver"] = (time.process_time() - cpu_started) * 1000 / messages
    return samples, messages / (time.perf_counter() - started)


CPU_MS: dict[str, float] = {}


def bench_sweep(messages: int) -> tuple[float, int]:
    """Messages whose enqueue was lost (as after a crash), recovered by one sweep."""
    from unittest import mock

    from django.db import transaction

    from integration import outbox

    with mock.patch.object(outbox, "_enqueue_delivery", lambda message_id: None):
        for n in range(messages):
            with transaction.atomic():
                outbox.outbox_send(topic="catalog.sync", payload=payload(n), aggregate_key=f"sweep:{n}")
    started = time.perf_counter()
    tried = outbox.outbox_sweep(limit=messages, budget_seconds=600)
    return tried / (time.perf_counter() - started), tried


def bench_webhooks(requests_count: int) -> tuple[list[int], list[int]]:
    """Signed POSTs to /api/v1/catalog/sync: first deliveries, then replays of the same keys."""
    from django.conf import settings
    from django.test import Client

    from integration.signing import signed_headers

    client = Client()
    bodies = []
    for n in range(requests_count):
        message = payload(n)
        body = json.dumps(message).encode()
        # The header carries the body's own signed key (a different one is refused as a replay).
        headers = signed_headers(body, idempotency_key=message["idempotencyKey"], source_service="lms")
        bodies.append((body, {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}))
    assert settings.WEBHOOK_SECRETS
    first, replay = [], []
    for samples in (first, replay):
        for body, meta in bodies:
            t0 = time.perf_counter_ns()
            response = client.post("/api/v1/catalog/sync", data=body, content_type="application/json", **meta)
            samples.append(time.perf_counter_ns() - t0)
            assert response.status_code == 200, response.content
    return first, replay


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--profile", action="store_true", help="profile send + deliver with cProfile")
    args = parser.parse_args()
    os.environ.setdefault("WEBHOOK_SECRETS", "bench-secret-" + uuid.uuid4().hex)
    with tempfile.TemporaryDirectory() as var_dir:
        setup_django(var_dir)
        from django.conf import settings
        from django.db import connection

        from integration import registry
        from integration.models import InboxEntry, OutboxMessage

        def receiver(message, *, delivery) -> dict:
            products = message.products  # handlers get the topic's frozen dataclass
            return {"success": True, "processed": len(products), "results": [
                {"externalId": p.external_id, "productId": p.external_id, "status": "updated"}
                for p in products]}

        state = registry.snapshot()  # the minimal receiver instead of catalog's own: the backbone's cost
        state["handlers"]["catalog.sync"] = receiver
        state["replies"]["catalog.sync"] = []
        registry.restore(state)
        from celery import current_app

        # Deliver in this process even with REDIS_URL set: the figure is the delivery, not a broker hop.
        current_app.conf.task_always_eager = True
        backend = connection.vendor
        cache = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
        print(f"integration benchmark ({args.messages} messages each; database: {backend}; cache: {cache})")

        bench_send_and_deliver(min(100, args.messages))  # warm-up: imports, caches, connection
        OutboxMessage.objects.all().delete()
        with StatementCounter().counting() as counter:
            samples, rate = bench_send_and_deliver(args.messages)
        delivered = OutboxMessage.objects.filter(status=OutboxMessage.Status.DELIVERED).count()
        print(f"  outbox send + deliver after commit (local adapter): {summary(samples)}; "
              f"{rate:,.0f} messages/s; {delivered} delivered; {per_message(counter, args.messages)}; "
              f"CPU {CPU_MS['send+deliver']:.2f} ms per message")
        with StatementCounter().counting() as counter:
            sweep_rate, tried = bench_sweep(args.messages)
        print(f"  sweep recovering lost enqueues: {sweep_rate:,.0f} messages/s ({tried} delivered in one sweep; "
              f"{per_message(counter, args.messages)}, sends included)")
        with StatementCounter().counting() as counter:
            first, replay = bench_webhooks(args.messages)
        print(f"  signed webhook, first delivery (verify, contract, inbox, handler): {summary(first)}")
        print(f"  signed webhook, replayed key (stored answer): {summary(replay)}; "
              f"{per_message(counter, 2 * args.messages)} (both kinds)")
        print(f"  mean first/replay: {statistics.mean(first) / 1e6:.3f} / {statistics.mean(replay) / 1e6:.3f} ms; "
              f"{InboxEntry.objects.count()} inbox keys")
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(bench_send_and_deliver, args.messages)
            print(f"\n  where send + deliver spends its time ({args.messages} messages, cProfile, own time):")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
