"""Catalog benchmark: the catalog.sync receiver in batches, and the storefront's catalog page.

    python bench/bench_catalog.py [--products 10000] [--batch 500]

Runs on a throwaway SQLite database in a temporary VAR_DIR, or on DATABASE_URL when
that is set (point it at a scratch database: the benchmark migrates it and writes
rows). Each batch goes the way a received message goes (``message_receive``: the
contract check, the inbox claim, the catalog's handler with its bulk writes, the
stored answer), in three passes over the same products: all new (bulk INSERT),
all changed (bulk UPDATE), all unchanged (one read, no write). Then the catalog
page (``GET /``) and the product API with that many products, through Django's
full middleware stack in process.
"""

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR / "bench"))
from bench_identity import setup_django, summary  # noqa: E402


def batch_payload(start: int, size: int, *, version: int) -> dict:
    return {"source": "lms", "idempotencyKey": f"bench-{uuid.uuid4()}", "products": [{
        "action": "upsert", "externalId": f"course-{n}", "type": "course" if n % 4 else "program",
        "name": f"Course {n} v{version}", "description": f"What course {n} teaches, version {version}.",
        "suggestedPrice": f"{100 + n % 50}.00", "currency": "USD",
        "metadata": {"departmentId": f"dept-{n % 20}", "departmentName": f"Department {n % 20}",
                     "durationWeeks": 1 + n % 12}} for n in range(start, start + size)]}


def sync_pass(products: int, batch: int, *, version: int) -> tuple[float, list[int], int, dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from integration.receiving import message_receive
    from integration.registry import Delivery
    from integration.topics import Topic

    payloads = [batch_payload(start, min(batch, products - start), version=version)
                for start in range(0, products, batch)]
    samples, statuses = [], {}
    started, cpu_started = time.perf_counter(), time.process_time()
    with CaptureQueriesContext(connection) as queries:
        for payload in payloads:
            t0 = time.perf_counter_ns()
            answer = message_receive(topic=Topic.CATALOG_SYNC, payload=payload,
                                     delivery=Delivery(idempotency_key=payload["idempotencyKey"],
                                                       source_service="lms")).body
            samples.append(time.perf_counter_ns() - t0)
            for result in answer["results"]:
                statuses[result["status"]] = statuses.get(result["status"], 0) + 1
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return products / elapsed, products / cpu, samples, len(queries) // len(payloads), statuses


def page_timings(client, path: str, calls: int) -> tuple[list[int], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)  # warm templates and caches
    samples = []
    with CaptureQueriesContext(connection) as queries:
        for _ in range(calls):
            t0 = time.perf_counter_ns()
            response = client.get(path)
            samples.append(time.perf_counter_ns() - t0)
            assert response.status_code == 200, response.status_code
    return samples, len(queries) // calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--page-calls", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var_dir:
        setup_django(var_dir)
        from django.conf import settings
        from django.db import connection
        from django.test import Client

        from catalog.models import Product

        # Pages render without a collectstatic run here, as in the tests.
        settings.STORAGES = {**settings.STORAGES, "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

        Product.objects.filter(external_id__startswith="course-").delete()
        print(f"catalog benchmark ({args.products} products in batches of {args.batch}; "
              f"database: {connection.vendor})")
        for label, version in (("new (bulk INSERT)", 1), ("changed (bulk UPDATE)", 2), ("unchanged (no write)", 2)):
            rate, cpu_rate, samples, queries, statuses = sync_pass(args.products, args.batch, version=version)
            print(f"  catalog.sync, {label}: {rate:,.0f} products/s ({cpu_rate:,.0f} per CPU-second of this "
                  f"process); per batch {summary(samples)}; "
                  f"{queries} queries per batch; {statuses}")
        client = Client()
        for label, path in (("catalog page GET /", "/"), ("catalog page, search + filter", "/?q=course+1&type=course"),
                            ("catalog page, last page", f"/?page={args.products // 24 + 1}"),
                            ("product API GET /api/v1/catalog/products/?limit=100", "/api/v1/catalog/products/?limit=100")):
            samples, queries = page_timings(client, path, args.page_calls)
            print(f"  {label}: {summary(samples)}; {queries} queries per request")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("API_THROTTLING", "off")
    sys.exit(main())
