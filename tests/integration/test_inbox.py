"""The inbox: one processing per idempotency key, the stored answer after, 7 days of memory."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from prometheus_client import REGISTRY

from integration.inbox import IdempotencyKeyReusedError, InboxInProgressError, inbox_process, inbox_purge
from integration.models import InboxEntry
from tests.integration.factories import InboxEntryFactory

pytestmark = pytest.mark.django_db


class Counter:
    def __init__(self, answer=None):
        self.runs = 0
        self.answer = answer or {"success": True}

    def __call__(self):
        self.runs += 1
        return self.answer


def _duplicates(topic: str) -> float:
    return REGISTRY.get_sample_value("inbox_duplicates_total", {"topic": topic}) or 0.0


def test_the_same_key_is_processed_once_and_answered_the_same_after():
    run = Counter({"success": True, "processed": 1})
    before = _duplicates("catalog.sync")
    first = inbox_process(idempotency_key="k1", topic="catalog.sync", body_sha256="a" * 64, run=run)
    second = inbox_process(idempotency_key="k1", topic="catalog.sync", body_sha256="a" * 64, run=run)
    assert run.runs == 1
    assert (first.status_code, first.replayed) == (200, False)
    assert (second.status_code, second.replayed) == (200, True)
    assert first.body == second.body == {"success": True, "processed": 1}
    assert _duplicates("catalog.sync") == before + 1
    entry = InboxEntry.objects.get()
    assert (entry.state, entry.topic) == ("done", "catalog.sync")
    assert entry.completed_at is not None


def test_the_same_key_with_another_body_is_422():
    inbox_process(idempotency_key="k1", topic="catalog.sync", body_sha256="a" * 64, run=Counter())
    with pytest.raises(IdempotencyKeyReusedError) as caught:
        inbox_process(idempotency_key="k1", topic="catalog.sync", body_sha256="b" * 64, run=Counter())
    assert caught.value.status_code == 422
    assert caught.value.code == "idempotency_key_reused"


def test_a_key_still_being_processed_is_409():
    InboxEntryFactory(idempotency_key="k1", body_sha256="a" * 64, state="processing", completed_at=None,
                      response=None, status_code=None, created_at=timezone.now(),
                      lease_expires_at=timezone.now() + timedelta(minutes=5))
    run = Counter()
    with pytest.raises(InboxInProgressError) as caught:
        inbox_process(idempotency_key="k1", topic="catalog.sync", body_sha256="a" * 64, run=run)
    assert caught.value.status_code == 409
    assert caught.value.code == "in_progress"
    assert run.runs == 0


def test_a_stale_claim_of_a_crashed_worker_is_taken_over():
    InboxEntryFactory(idempotency_key="k1", body_sha256="a" * 64, state="processing", completed_at=None,
                      response=None, status_code=None, created_at=timezone.now() - timedelta(minutes=10),
                      lease_expires_at=timezone.now() - timedelta(minutes=5))
    run = Counter()
    result = inbox_process(idempotency_key="k1", topic="catalog.sync", body_sha256="a" * 64, run=run)
    assert (run.runs, result.replayed) == (1, False)
    assert InboxEntry.objects.get().state == "done"


def test_a_failing_handler_releases_the_claim_so_the_retry_runs():
    def failing():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        inbox_process(idempotency_key="k1", topic="catalog.sync", body_sha256="a" * 64, run=failing)
    assert not InboxEntry.objects.exists()
    run = Counter()
    assert inbox_process(idempotency_key="k1", topic="catalog.sync", body_sha256="a" * 64, run=run).replayed is False
    assert run.runs == 1


def test_what_the_handler_wrote_is_rolled_back_with_its_failure():
    from integration.models import OutboxMessage
    from tests.integration.factories import OutboxMessageFactory

    def writes_then_fails():
        OutboxMessageFactory()
        raise RuntimeError("after writing")

    with pytest.raises(RuntimeError):
        inbox_process(idempotency_key="k1", topic="catalog.sync", body_sha256="a" * 64, run=writes_then_fails)
    assert not OutboxMessage.objects.exists()


def test_keys_are_kept_seven_days_then_purged():
    start = timezone.now()
    inbox_process(idempotency_key="old", topic="catalog.sync", body_sha256="a" * 64, run=Counter(), now=start)
    inbox_process(idempotency_key="new", topic="catalog.sync", body_sha256="a" * 64, run=Counter(),
                  now=start + timedelta(days=6))
    assert inbox_purge(now=start + timedelta(days=7) - timedelta(seconds=1)) == 0
    assert inbox_purge(now=start + timedelta(days=7, seconds=1)) == 1
    assert list(InboxEntry.objects.values_list("idempotency_key", flat=True)) == ["new"]
    # After the purge the key is new again.
    run = Counter()
    inbox_process(idempotency_key="old", topic="catalog.sync", body_sha256="a" * 64, run=run)
    assert run.runs == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_deliveries_of_one_key_run_the_handler_once(client):
    import json

    from tests.integration.conftest import RecordingHandler, signed_post, use_handler
    from tests.integration.factories import catalog_sync_payload

    handler = RecordingHandler()
    lock = threading.Lock()
    side_effects = []

    def slow_handler(payload, *, delivery):
        with lock:
            side_effects.append(delivery.idempotency_key)
        threading.Event().wait(0.2)  # keep the claim held while the others arrive
        return handler(payload, delivery=delivery)

    use_handler("catalog.sync", slow_handler)
    body = json.dumps(catalog_sync_payload(idempotencyKey="same-key-for-all")).encode()
    barrier = threading.Barrier(50)
    statuses: list[int] = []
    replayed: list[bool] = []
    errors: list[BaseException] = []

    def deliver():
        from django.test import Client

        try:
            barrier.wait(timeout=30)
            response = signed_post(Client(), "/api/v1/catalog/sync", body, key="same-key-for-all")
            with lock:
                statuses.append(response.status_code)
                replayed.append(response.get("Idempotent-Replayed") == "true")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(side_effects) == 1
    assert len(statuses) == 50
    assert set(statuses) <= {200, 409}
    assert statuses.count(200) - sum(replayed) == 1, "exactly one delivery ran the handler"
    assert InboxEntry.objects.get().state == "done"
