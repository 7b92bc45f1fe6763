"""LMS benchmark: the catalog export walked page by page, access checks over a 5-level tree, an entitlement
grant of 20 items, and the "My courses" and player pages.

    python bench/bench_learning.py [--courses 10000] [--limit 100]

Runs on a throwaway SQLite database in a temporary VAR_DIR, or on DATABASE_URL when that is set
(point it at a scratch database: the benchmark migrates it and writes rows).
"""

import argparse
import os
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR / "bench"))
from bench_identity import setup_django, summary  # noqa: E402


def timed(fn, calls: int):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    samples = []
    with CaptureQueriesContext(connection) as queries:
        for _ in range(calls):
            t0 = time.perf_counter_ns()
            fn()
            samples.append(time.perf_counter_ns() - t0)
    return samples, len(queries) // calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--courses", type=int, default=10_000)
    parser.add_argument("--limit", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var_dir:
        setup_django(var_dir)
        from django.conf import settings
        from django.db import connection, transaction
        from django.test import Client
        from django.test.utils import CaptureQueriesContext
        from django.utils import timezone

        from learning.models import Course, Department, Enrollment, Lesson, LmsUser, Membership
        from learning.permissions import Right, access_check
        from learning.selectors import catalog_export_page
        from learning.services.entitlements import entitlement_receive
        from learning.sessions import SESSION_KEY

        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        settings.STORAGES = {**settings.STORAGES, "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
        print(f"learning benchmark ({args.courses} courses; database: {connection.vendor})")

        # A 5-level tree; the courses hang off the deepest node.
        node = Department.objects.add_root({"name": f"Bench {uuid.uuid4().hex[:6]}"})
        levels = [node]
        for depth in range(2, 6):
            node = Department.objects.add_child(node, {"name": f"Level {depth}"})
            levels.append(node)
        now = timezone.now()
        Course.objects.bulk_create([
            Course(department=levels[-1], title=f"Course {n}", suggested_price=Decimal("99.00"), currency="USD",
                   status="published", published_at=now, updated_at=now - timezone.timedelta(seconds=n % 997))
            for n in range(args.courses)], batch_size=1000)

        # 1. The export, page by page (keyset on updated_at, id).
        cursor, pages, total, samples, per_page_queries = None, 0, 0, [], []
        started = time.perf_counter()
        while True:
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter_ns()
                page = catalog_export_page(limit=args.limit, cursor=cursor, product_type="course",
                                           department_id=str(levels[-1].pk))
                samples.append(time.perf_counter_ns() - t0)
            per_page_queries.append(len(queries))
            total += len(page["products"])
            pages += 1
            if not page["pagination"]["hasMore"]:
                break
            cursor = page["pagination"]["nextCursor"]
        elapsed = time.perf_counter() - started
        tenth = max(1, pages // 10)
        print(f"  catalog export: {total} products in {pages} pages of {args.limit} in {elapsed:.2f} s; "
              f"queries per page {min(per_page_queries)}-{max(per_page_queries)}")
        print(f"    first {tenth} pages {summary(samples[:tenth])}; last {tenth} pages {summary(samples[-tenth:])}")

        # 2. Access checks over the 5-level tree.
        admin = LmsUser.objects.create(email="bench-admin@example.com", commerce_user_id=f"b-{uuid.uuid4()}",
                                       user_types=["staff"])
        Membership.objects.create(user=admin, department=levels[0], role="department-admin")
        deepest = Department.objects.get(pk=levels[-1].pk)
        samples, queries = timed(lambda: access_check(user=admin, right=Right.COURSE_MANAGE, department=deepest), 500)
        print(f"  access check, root admin acting 4 levels down: {summary(samples)}; {queries} query per check")

        # 3. An entitlement grant of 20 items (one transaction).
        twenty = list(Course.objects.filter(department=levels[-1]).order_by("id")[:20])

        def grant():
            order = f"ord-{uuid.uuid4()}"
            items = [{"productType": "course", "externalId": str(c.pk), "grantedAt": now,
                      "orderItemId": f"{order}-{i}", "metadata": {"orderId": order, "transactionId": "t",
                                                                  "amount": Decimal("99.00"), "currency": "USD"}}
                     for i, c in enumerate(twenty)]
            entitlement_receive(event="entitlement.granted", order_id=order, commerce_user_id=f"buyer-{uuid.uuid4()}",
                                email="buyer@example.com", items=items, now=timezone.now())

        class Undo(Exception):
            pass

        def grant_only():
            # The grant's own transaction; rolled back, so the deliveries it queues after commit
            # (revenue's handler, emails) are not counted here.
            try:
                with transaction.atomic():
                    grant()
                    raise Undo
            except Undo:
                pass

        samples, queries = timed(grant_only, 10)
        print(f"  entitlement grant, 20 items, one transaction: {summary(samples)}; {queries} queries per grant")

        # 4. My courses (50 enrollments) and the player (100 lessons).
        learner = LmsUser.objects.create(email="bench-learner@example.com", commerce_user_id=f"l-{uuid.uuid4()}")
        fifty = list(Course.objects.filter(department=levels[-1]).order_by("-id")[:50])
        Enrollment.objects.bulk_create([Enrollment(user=learner, course=c, source="manual", status="active",
                                                   granted_at=now) for c in fifty])
        Lesson.objects.bulk_create([Lesson(course=fifty[0], position=n + 1, title=f"Lesson {n + 1}", body="Text")
                                    for n in range(100)])
        client = Client()
        session = client.session
        session[SESSION_KEY] = str(learner.pk)
        session.save()
        for label, path in (("My courses, 50 enrollments", "/lms/"),
                            ("course player, 100 lessons", f"/lms/courses/{fifty[0].pk}/")):
            client.get(path)
            samples, queries = timed(lambda path=path: client.get(path), 30)
            print(f"  {label}: {summary(samples)}; {queries} queries per page")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("API_THROTTLING", "off")
    sys.exit(main())
