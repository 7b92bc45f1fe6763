"""Faults a delivery survives, and what one delivery costs: attempt records, clocks, leases, query counts."""

import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time

from integration import outbox
from integration.inbox import InboxInProgressError, inbox_process
from integration.models import DeliveryAttempt, InboxEntry, OutboxMessage
from tests.integration.conftest import RecordingHandler, use_handler
from tests.integration.factories import catalog_sync_payload

pytestmark = pytest.mark.django_db
BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_enqueue(monkeypatch):
    monkeypatch.setattr(outbox, "_enqueue_delivery", lambda message_id: None)


def send(*, aggregate_key="course:course-101") -> OutboxMessage:
    with transaction.atomic():
        return outbox.outbox_send(topic="catalog.sync", payload=catalog_sync_payload(), aggregate_key=aggregate_key)


def test_one_local_delivery_is_two_transactions_of_a_few_statements(no_enqueue, catalog_handler,
                                                                     django_assert_max_num_queries):
    message = send()
    # The lease with its started attempt (1 statement on PostgreSQL, 2 on SQLite); then the inbox claim, and
    # inbox answer, attempt outcome and delivered mark (1 statement on PostgreSQL, 3 on SQLite). In a test
    # each transaction also shows as a savepoint pair.
    with django_assert_max_num_queries(5 if connection.vendor == "postgresql" else 10):
        delivered = outbox.outbox_deliver(message_id=message.message_id)
    assert delivered.status == OutboxMessage.Status.DELIVERED
    assert OutboxMessage.objects.get(pk=message.pk).status == OutboxMessage.Status.DELIVERED
    entry = InboxEntry.objects.get(idempotency_key=message.idempotency_key)
    assert (entry.state, entry.status_code, entry.response) == ("done", 200, delivered.response)
    assert entry.completed_at is not None
    assert delivered.delivery_attempts.get().outcome == DeliveryAttempt.Outcome.SUCCESS


def test_the_attempt_is_recorded_before_the_handler_runs_and_completed_after():
    seen = []

    def handler(payload, *, delivery):
        attempt = DeliveryAttempt.objects.get()
        seen.append((attempt.outcome, attempt.duration_ms, OutboxMessage.objects.get().attempts))
        return RecordingHandler()(payload, delivery=delivery)

    use_handler("catalog.sync", handler)
    message = outbox.outbox_deliver(message_id=send().message_id) or OutboxMessage.objects.get()
    assert seen == [("started", None, 1)], "counted and recorded before the receiver is called"
    attempt = message.delivery_attempts.get()
    assert (attempt.outcome, attempt.number, attempt.status_code) == ("success", 1, 200)
    assert attempt.duration_ms is not None


def test_an_attempt_whose_worker_died_keeps_its_record_and_the_next_attempt_says_so(no_enqueue, catalog_handler):
    message = send()
    start = timezone.now()
    # The worker took the lease (attempt 1 recorded as started) and was killed inside the handler.
    assert outbox._lease(message_id=message.message_id, now=start, force=False) is not None
    assert DeliveryAttempt.objects.get().outcome == "started"
    assert outbox.outbox_sweep(now=start + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS - 1)) == 0
    outbox.outbox_sweep(now=start + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS + 1))
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("delivered", 2)
    attempts = list(message.delivery_attempts.order_by("number").values_list("number", "outcome", "error"))
    assert attempts == [(1, "error", "no outcome recorded: the worker stopped during the attempt"),
                        (2, "success", "")]


def test_each_swept_delivery_reads_the_clock_itself(no_enqueue):
    slow = RecordingHandler()
    use_handler("catalog.sync", slow)
    messages = [send(aggregate_key=f"course:{n}") for n in range(3)]
    with freeze_time(timezone.now() + timedelta(seconds=1), auto_tick_seconds=0.5):
        assert outbox.outbox_sweep(budget_seconds=600) == 3
    delivered = [OutboxMessage.objects.get(pk=m.pk).delivered_at for m in messages]
    assert delivered[0] < delivered[1] < delivered[2], "not the sweep's start time for all"
    started = list(DeliveryAttempt.objects.order_by("message_id").values_list("started_at", flat=True))
    assert started[0] < started[1] < started[2], "each lease counts from its own delivery"


def test_the_sweep_records_a_heartbeat(no_enqueue):
    assert outbox.outbox_sweep_age_seconds() is None
    now = timezone.now()
    outbox.outbox_sweep(now=now)
    assert outbox.outbox_sweep_age_seconds(now=now + timedelta(seconds=42)) == pytest.approx(42)


def test_a_webhook_claim_left_by_a_dead_receiver_expires_with_the_senders_lease():
    start = timezone.now()

    def killed():
        raise KeyboardInterrupt  # stands in for the process dying: the claim stays, committed

    InboxEntry.objects.create(idempotency_key="k1", topic="catalog.sync", body_sha256="a" * 64,
                              state="processing", created_at=start,
                              lease_expires_at=start + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS))
    with pytest.raises(InboxInProgressError):
        inbox_process(idempotency_key="k1", topic="catalog.sync", body_sha256="a" * 64, run=killed,
                      now=start + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS - 1))
    # The sender's lease is over, so its next attempt is the only one left: it takes the claim over at once.
    result = inbox_process(idempotency_key="k1", topic="catalog.sync", body_sha256="a" * 64,
                           run=lambda: {"success": True},
                           now=start + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS))
    assert (result.status_code, result.replayed) == (200, False)
    assert settings.OUTBOX_LEASE_SECONDS <= 90, "a retry comes within about a minute"


KILLED_WORKER = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {base!r})
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django
    django.setup()
    from integration import outbox, registry

    def handler(payload, *, delivery):
        print("in handler", flush=True)
        time.sleep(60)

    registry.restore({{**registry.snapshot(), "handlers": {{**registry.snapshot()["handlers"], "catalog.sync": handler}}}})
    outbox.outbox_deliver(message_id={message_id!r})
""")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_inside_a_handler_is_retried_within_about_a_minute(no_enqueue, catalog_handler):
    message = send()
    database = settings.DATABASES["default"]
    env = {**os.environ, "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
                                         f"{database['NAME']}", "REDIS_URL": "", "LOG_LEVEL": "WARNING"}
    worker = subprocess.Popen([sys.executable, "-c", KILLED_WORKER.format(base=str(BASE_DIR),
                                                                           message_id=str(message.message_id))],
                              env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout.readline().strip() == "in handler"
        killed_at = timezone.now()
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("pending", 1)
    assert not InboxEntry.objects.exists(), "the killed handler's transaction left no claim behind"
    assert outbox.outbox_sweep(now=killed_at) == 0, "its lease still holds"
    # The next sweeps (every 15 s) after the 60 s lease: the retry runs at once, with no 409 "in progress".
    outbox.outbox_sweep(now=killed_at + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS + 15))
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("delivered", 2)
    assert len(catalog_handler.calls) == 1
    assert list(message.delivery_attempts.order_by("number").values_list("outcome", flat=True)) == [
        "error", "success"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="synchronous_commit is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_lease_of_its_own_commits_without_waiting_for_the_flush_and_only_it(catalog_handler, monkeypatch):
    monkeypatch.setattr(outbox, "_enqueue_delivery", lambda message_id: None)
    message = send()
    with CaptureQueriesContext(connection) as queries:
        assert outbox._lease(message_id=message.message_id, now=timezone.now(), force=False) is not None
    assert "set_config('synchronous_commit', 'off', true)" in queries.captured_queries[0]["sql"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on", "the setting ends with the lease's own transaction"
    leased = OutboxMessage.objects.get(pk=message.pk)
    assert (leased.attempts, leased.delivery_attempts.get().outcome) == (1, "started")

    other = send(aggregate_key="course:course-102")
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        assert outbox._lease(message_id=other.message_id, now=timezone.now(), force=False) is not None
    assert not any("synchronous_commit" in query["sql"] for query in queries.captured_queries), \
        "inside a caller's transaction the caller's commit stays synchronous"
