"""The outbox: delivery after commit, retries with backoff, dead letters, replay, order, recovery."""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
import responses
from django.db import transaction
from django.utils import timezone
from freezegun import freeze_time

from integration import outbox, registry
from integration.contracts import InvalidPayloadError
from integration.errors import ConflictError, RemoteServiceError
from integration.models import DeliveryAttempt, OutboxMessage
from tests.integration.conftest import RecordingHandler, use_handler
from tests.integration.factories import catalog_sync_payload

pytestmark = pytest.mark.django_db
COMMERCE = "http://commerce.test"
# The receiver's answers, relayed as a remote side would send them.
UNAVAILABLE = RemoteServiceError.relay(message="Down for maintenance.", code="maintenance", status_code=503)


@pytest.fixture
def no_enqueue(monkeypatch):
    """The process dies between COMMIT and the broker: the delivery task is never enqueued."""
    monkeypatch.setattr(outbox, "_enqueue_delivery", lambda message_id: None)


@pytest.fixture
def over_http(settings):
    settings.INTEGRATION_FORCE_HTTP = True
    settings.COMMERCE_BASE_URL = COMMERCE


def send(payload=None, *, aggregate_key="course:course-101", capture=None) -> OutboxMessage:
    with transaction.atomic():
        message = outbox.outbox_send(topic="catalog.sync", payload=payload or catalog_sync_payload(),
                                     aggregate_key=aggregate_key)
    return message


def refreshed(message: OutboxMessage) -> OutboxMessage:
    message.refresh_from_db()
    return message


def drive_until_settled(message: OutboxMessage, *, limit: int = 50) -> list:
    """Runs the sweep at each scheduled retry time until the message is delivered or dead."""
    times = []
    for _ in range(limit):
        message = refreshed(message)
        if message.status != OutboxMessage.Status.PENDING:
            break
        times.append(message.next_attempt_at)
        outbox.outbox_sweep(now=message.next_attempt_at)
    return times


# --- sending -----------------------------------------------------------------

def test_send_delivers_after_commit_through_the_local_adapter(catalog_handler, django_capture_on_commit_callbacks):
    payload = catalog_sync_payload(price=Decimal("199.00"))
    with django_capture_on_commit_callbacks(execute=True):
        message = send(payload)
        assert catalog_handler.calls == [], "nothing is delivered before the sender commits"
    message = refreshed(message)
    assert message.status == OutboxMessage.Status.DELIVERED
    assert message.attempts == 1
    assert message.response["results"][0]["productId"] == "prod-course-101"
    received, delivery = catalog_handler.calls[0]
    assert received["products"][0]["suggestedPrice"] == Decimal("199.00")
    assert delivery.idempotency_key == payload["idempotencyKey"] == message.idempotency_key
    assert delivery.transport == "local"
    assert message.payload["products"][0]["suggestedPrice"] == "199.00", "money is stored as a decimal string"
    attempt = message.delivery_attempts.get()
    assert (attempt.outcome, attempt.status_code, attempt.transport) == ("success", 200, "local")


def test_a_rolled_back_transaction_sends_nothing(catalog_handler, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, \
            pytest.raises(RuntimeError), transaction.atomic():
            outbox.outbox_send(topic="catalog.sync", payload=catalog_sync_payload(), aggregate_key="course:1")
            raise RuntimeError("the sender's change failed")
    assert callbacks == []
    assert not OutboxMessage.objects.exists()
    assert catalog_handler.calls == []


def test_the_payload_is_checked_against_the_contract_before_it_is_written():
    bad = catalog_sync_payload()
    # What the catalog's contract refuses for the whole message (a sender's bug); a missing name or a
    # negative price is answered per product by the receiver instead (spec 6.1.2).
    bad["products"][0]["type"] = "webinar"
    del bad["products"][0]["externalId"]
    with pytest.raises(InvalidPayloadError) as caught:
        send(bad)
    assert caught.value.status_code == 400
    assert caught.value.code == "invalid_payload"
    assert set(caught.value.details["products"]["0"]) == {"type", "externalId"}
    assert not OutboxMessage.objects.exists()


def test_a_float_amount_is_refused():
    with pytest.raises(InvalidPayloadError) as caught:
        send(catalog_sync_payload(price=199.0))
    assert "products[0].suggestedPrice" in caught.value.details


def test_key_is_made_and_written_into_the_payload_when_missing(no_enqueue):
    payload = catalog_sync_payload()
    del payload["idempotencyKey"]
    message = send(payload)
    assert message.idempotency_key
    assert message.payload["idempotencyKey"] == message.idempotency_key


def test_topic_without_key_field_gets_a_uuid_key_and_the_payload_stays_as_is(no_enqueue):
    payload = {"source": "lms", "event": "enrollment.approved",
               "payload": {"enrollmentId": "enr-1", "orderId": "ord-1", "orderItemId": "line-1",
                           "status": "approved", "approvedAt": "2025-01-14T10:05:00Z", "approvedBy": "auto-approval"}}
    with transaction.atomic():
        message = outbox.outbox_send(topic="enrollment.status", payload=payload, aggregate_key="order:ord-1")
    assert len(message.idempotency_key) == 36
    assert "idempotencyKey" not in message.payload


def test_sending_the_same_key_twice_writes_one_message(no_enqueue):
    payload = catalog_sync_payload()
    first = send(payload)
    assert send(payload).pk == first.pk
    changed = {**payload, "products": [{**payload["products"][0], "name": "Another name"}]}
    with pytest.raises(ConflictError):
        send(changed)


def test_a_send_is_one_insert_without_a_savepoint_and_enqueued_after_commit(
        django_assert_num_queries, django_capture_on_commit_callbacks, monkeypatch):
    enqueued = []
    monkeypatch.setattr(outbox, "_enqueue_delivery", enqueued.append)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with django_assert_num_queries(1) as queries:
            message = outbox.outbox_send(topic="catalog.sync", payload=catalog_sync_payload(),
                                         aggregate_key="course:course-101")
        assert "ON CONFLICT" in queries.captured_queries[0]["sql"]
    assert enqueued == [message.message_id]
    assert OutboxMessage.objects.get(pk=message.pk).message_id == message.message_id


def test_a_resend_enqueues_nothing_and_a_conflict_leaves_the_transaction_usable(monkeypatch):
    first = send()
    enqueued = []
    monkeypatch.setattr(outbox, "_enqueue_delivery", enqueued.append)
    changed = {**first.payload, "products": [{**first.payload["products"][0], "name": "Another name"}]}
    with transaction.atomic():
        assert outbox.outbox_send(topic="catalog.sync", payload=first.payload,
                                  aggregate_key="course:course-101").pk == first.pk
        with pytest.raises(ConflictError):
            outbox.outbox_send(topic="catalog.sync", payload=changed, aggregate_key="course:course-101")
        assert OutboxMessage.objects.count() == 1
    assert enqueued == []


def test_send_many_writes_new_keys_in_one_insert_and_returns_the_stored_ones_in_order(
        no_enqueue, django_assert_num_queries):
    taken = send(catalog_sync_payload(idempotencyKey="sync-taken"))
    fresh = catalog_sync_payload(idempotencyKey="sync-fresh")
    batch = [{"topic": "catalog.sync", "payload": payload, "aggregate_key": "course:course-101"}
             for payload in (fresh, taken.payload, fresh)]
    with transaction.atomic(), django_assert_num_queries(2):  # the INSERT, then one read of the taken keys
        sent = outbox.outbox_send_many(batch)
    assert [message.idempotency_key for message in sent] == ["sync-fresh", "sync-taken", "sync-fresh"]
    assert sent[1].pk == taken.pk and sent[2].pk == sent[0].pk
    assert OutboxMessage.objects.count() == 2


def test_send_many_refuses_a_key_reused_for_another_body(no_enqueue):
    first = catalog_sync_payload(idempotencyKey="sync-1")
    other = {**first, "products": [{**first["products"][0], "name": "Another name"}]}
    with pytest.raises(ConflictError), transaction.atomic():
        outbox.outbox_send_many([{"topic": "catalog.sync", "payload": payload, "aggregate_key": "course:1"}
                                 for payload in (first, other)])
    assert not OutboxMessage.objects.exists()


def test_the_request_id_is_stored_with_the_message(no_enqueue):
    import structlog

    with structlog.contextvars.bound_contextvars(request_id="req-abc"):
        message = send()
    assert message.request_id == "req-abc"


# --- retries, backoff, dead letters -----------------------------------------

def test_survives_a_failing_receiver_and_delivers_when_it_recovers(django_capture_on_commit_callbacks):
    handler = RecordingHandler(fail_times=2, error=UNAVAILABLE)
    use_handler("catalog.sync", handler)
    with django_capture_on_commit_callbacks(execute=True):
        message = send()
    message = refreshed(message)
    assert (message.status, message.attempts) == ("pending", 1)
    assert "maintenance" in message.last_error
    drive_until_settled(message)
    message = refreshed(message)
    assert message.status == OutboxMessage.Status.DELIVERED
    assert list(message.delivery_attempts.order_by("id").values_list("outcome", flat=True)) == [
        "retry", "retry", "success"]
    assert len(handler.calls) == 3
    assert len(set(handler.keys)) == 1, "every retry carries the same idempotency key"


def test_backoff_doubles_from_one_minute_with_twenty_percent_jitter_and_a_cap(no_enqueue, settings):
    use_handler("catalog.sync", RecordingHandler(fail_times=99, error=UNAVAILABLE))
    message = send()
    times = drive_until_settled(message)
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]
    assert len(gaps) == settings.OUTBOX_MAX_ATTEMPTS - 1 == 9
    for attempt, gap in enumerate(gaps, start=1):
        nominal = min(60 * 2 ** (attempt - 1), settings.OUTBOX_MAX_DELAY_SECONDS)
        assert nominal * 0.8 - 1 <= gap <= min(nominal * 1.2, settings.OUTBOX_MAX_DELAY_SECONDS) + 1, (attempt, gap)
    assert gaps[-1] <= 4 * 3600
    total_minutes = sum(gaps) / 60
    assert 396 - 1 <= total_minutes <= 546 + 1


def test_a_receiver_answering_503_forever_gets_exactly_max_attempts_then_a_dead_letter(no_enqueue, settings):
    handler = RecordingHandler(fail_times=10_000, error=UNAVAILABLE)
    use_handler("catalog.sync", handler)
    message = send()
    drive_until_settled(message, limit=100)
    # Long after: nothing more is tried.
    outbox.outbox_sweep(now=timezone.now() + timedelta(days=30))
    message = refreshed(message)
    assert message.status == OutboxMessage.Status.DEAD
    assert message.attempts == settings.OUTBOX_MAX_ATTEMPTS == 10
    assert len(handler.calls) == 10
    assert message.delivery_attempts.count() == 10
    assert message.response["error"]["code"] == "maintenance"


def test_a_permanent_rejection_dead_letters_at_once_with_the_answer(no_enqueue):
    rejection = RemoteServiceError.relay(message="Unknown department.", code="unknown_department", status_code=422,
                                         details={"departmentId": "dept-1"})
    handler = RecordingHandler(fail_times=1, error=rejection)
    use_handler("catalog.sync", handler)
    message = outbox.outbox_deliver(message_id=send().message_id)
    assert message.status == OutboxMessage.Status.DEAD
    assert message.attempts == 1
    assert message.response == {"error": {"code": "unknown_department", "message": "Unknown department.",
                                          "details": {"departmentId": "dept-1"}}}
    assert message.delivery_attempts.get().outcome == "permanent_failure"


@pytest.mark.parametrize("status", [408, 409, 425, 429, 500, 502, 503, 504])
def test_retryable_answers_are_retried(no_enqueue, status):
    use_handler("catalog.sync", RecordingHandler(fail_times=1, error=RemoteServiceError.relay(code="refused", status_code=status)))
    message = outbox.outbox_deliver(message_id=send().message_id)
    assert message.status == OutboxMessage.Status.PENDING
    assert message.delivery_attempts.get().outcome == "retry"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_other_client_errors_are_permanent(no_enqueue, status):
    use_handler("catalog.sync", RecordingHandler(fail_times=1, error=RemoteServiceError.relay(code="refused", status_code=status)))
    assert outbox.outbox_deliver(message_id=send().message_id).status == OutboxMessage.Status.DEAD


def test_a_handler_crash_is_retried(no_enqueue):
    use_handler("catalog.sync", RecordingHandler(fail_times=1, error=RuntimeError("bug")))
    message = outbox.outbox_deliver(message_id=send().message_id)
    assert message.status == OutboxMessage.Status.PENDING
    attempt = message.delivery_attempts.get()
    assert (attempt.outcome, attempt.status_code) == ("error", None)
    assert "RuntimeError: bug" in message.last_error


def test_a_missing_receiver_is_retried_not_dropped(no_enqueue):
    state = registry.snapshot()
    state["handlers"].pop("catalog.sync", None)
    registry.restore(state)
    message = outbox.outbox_deliver(message_id=send().message_id)
    assert message.status == OutboxMessage.Status.PENDING
    assert "receiver_unavailable" in message.last_error


def test_a_message_is_not_attempted_before_its_time(no_enqueue):
    use_handler("catalog.sync", RecordingHandler(fail_times=1, error=UNAVAILABLE))
    message = outbox.outbox_deliver(message_id=send().message_id)
    assert outbox.outbox_deliver(message_id=message.message_id) is None
    assert outbox.outbox_sweep() == 0
    assert refreshed(message).attempts == 1


# --- HTTP answers: Retry-After and permanent rejections ------------------------

@responses.activate
@pytest.mark.parametrize(("status", "retry_after", "expected"), [
    (429, "3600", 3600),
    (503, "7200", 7200),
    (429, "99999", 4 * 3600),  # capped
    (500, "3600", None),  # only 429 and 503 carry a meaningful Retry-After
])
def test_retry_after_in_seconds_is_honoured(no_enqueue, over_http, status, retry_after, expected):
    responses.post(f"{COMMERCE}/api/v1/catalog/sync", status=status, json={"error": {"code": "slow_down"}},
                   headers={"Retry-After": retry_after})
    message = send()
    now = timezone.now()
    message = outbox.outbox_deliver(message_id=message.message_id, now=now)
    wait = (message.next_attempt_at - now).total_seconds()
    if expected is None:
        assert 48 <= wait <= 72
    else:
        assert wait == pytest.approx(expected, abs=1)


@responses.activate
def test_retry_after_as_an_http_date_is_honoured(no_enqueue, over_http):
    with freeze_time("2025-03-01 12:00:00"):
        responses.post(f"{COMMERCE}/api/v1/catalog/sync", status=503,
                       headers={"Retry-After": "Sat, 01 Mar 2025 13:30:00 GMT"})
        message = outbox.outbox_deliver(message_id=send().message_id)
        assert message.next_attempt_at == timezone.now() + timedelta(minutes=90)


@responses.activate
def test_a_permanent_http_rejection_dead_letters_with_the_answer(no_enqueue, over_http):
    answer = {"error": {"code": "invalid_payload", "message": "Some fields are invalid.",
                        "details": {"products": ["bad"]}}}
    responses.post(f"{COMMERCE}/api/v1/catalog/sync", status=400, json=answer)
    message = outbox.outbox_deliver(message_id=send().message_id)
    assert message.status == OutboxMessage.Status.DEAD
    assert message.response == answer
    assert message.last_error.startswith("HTTP 400 invalid_payload")
    assert "invalid_payload" in message.delivery_attempts.get().response_excerpt


@responses.activate
def test_http_delivery_is_signed_and_carries_request_id_and_key(no_enqueue, over_http):
    from integration.signing import sign_body
    from tests.conftest import TEST_WEBHOOK_SECRETS

    responses.post(f"{COMMERCE}/api/v1/catalog/sync", json={"success": True, "processed": 1, "results": []})
    message = send()
    outbox.outbox_deliver(message_id=message.message_id)
    request = responses.calls[0].request
    assert request.headers["X-Webhook-Signature"] == sign_body(request.body, secret=TEST_WEBHOOK_SECRETS[0])
    assert request.headers["X-Idempotency-Key"] == message.idempotency_key
    assert request.headers["X-Source-Service"] == "lms"
    assert request.headers["X-Request-Id"] == message.request_id
    assert refreshed(message).status == OutboxMessage.Status.DELIVERED


@responses.activate
def test_a_connection_failure_is_retried(no_enqueue, over_http):
    import requests

    responses.post(f"{COMMERCE}/api/v1/catalog/sync", body=requests.ConnectionError("refused"))
    message = outbox.outbox_deliver(message_id=send().message_id)
    assert message.status == OutboxMessage.Status.PENDING
    assert message.delivery_attempts.get().outcome == "error"


@responses.activate
def test_service_token_routes_send_a_bearer_token_and_fill_the_path(no_enqueue, over_http, monkeypatch):
    from integration import transport

    scopes = []

    def fake_token(route):
        scopes.append(route.scope)
        return "svc-token"

    monkeypatch.setattr(transport, "_service_token", fake_token)
    responses.post(f"{COMMERCE}/api/v1/users/user%2F7/roles",
                   json={"success": True, "user": {"id": "user/7", "commerceRoles": ["payee"]}})
    with transaction.atomic():
        message = outbox.outbox_send(topic="identity.role_grant", aggregate_key="user:user/7", payload={
            "userId": "user/7", "role": "payee", "reason": "Instructor of course-101",
            "metadata": {"lmsUserId": "lms-7", "courseIds": ["course-101"]}})
    message = outbox.outbox_deliver(message_id=message.message_id)
    assert message.status == OutboxMessage.Status.DELIVERED
    request = responses.calls[0].request
    assert request.headers["Authorization"] == "Bearer svc-token"
    assert scopes == ["roles:write"]
    import json

    assert json.loads(request.body) == {"role": "payee", "reason": "Instructor of course-101",
                                        "metadata": {"lmsUserId": "lms-7", "courseIds": ["course-101"]}}


# --- replay, recovery, order --------------------------------------------------

def test_replay_delivers_a_dead_letter(no_enqueue, monkeypatch, django_capture_on_commit_callbacks):
    handler = RecordingHandler(fail_times=1, error=RemoteServiceError.relay(code="not_yet", status_code=404))
    use_handler("catalog.sync", handler)
    message = outbox.outbox_deliver(message_id=send().message_id)
    assert message.status == OutboxMessage.Status.DEAD
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        replayed = outbox.outbox_replay(message_id=message.message_id)
    assert (replayed.status, replayed.attempts) == ("pending", 0)
    message = refreshed(message)
    assert message.status == OutboxMessage.Status.DELIVERED
    assert len(handler.calls) == 2
    with pytest.raises(outbox.OutboxReplayError):
        outbox.outbox_replay(message_id=message.message_id)


def test_replay_all_dead_puts_every_dead_letter_back(no_enqueue, catalog_handler):
    messages = [send(aggregate_key=f"course:{n}") for n in range(3)]
    OutboxMessage.objects.update(status=OutboxMessage.Status.DEAD, attempts=10)
    assert outbox.outbox_replay_all_dead() == 3
    assert outbox.outbox_sweep() == 3
    assert all(refreshed(m).status == OutboxMessage.Status.DELIVERED for m in messages)


def test_a_crash_between_commit_and_enqueue_is_recovered_by_the_sweep(
        no_enqueue, catalog_handler, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = send()
    assert refreshed(message).attempts == 0
    assert catalog_handler.calls == []
    assert outbox.outbox_sweep() == 1
    assert refreshed(message).status == OutboxMessage.Status.DELIVERED
    assert len(catalog_handler.calls) == 1


def test_a_worker_killed_mid_delivery_is_recovered_after_its_lease(no_enqueue, catalog_handler):
    message = send()
    # A worker took the lease and died: the message stays pending with a lease that runs out.
    OutboxMessage.objects.filter(pk=message.pk).update(leased_until=timezone.now() + timedelta(seconds=60),
                                                       attempts=1)
    assert outbox.outbox_sweep() == 0
    assert outbox.outbox_sweep(now=timezone.now() + timedelta(seconds=61)) == 1
    message = refreshed(message)
    assert (message.status, message.attempts) == ("delivered", 2)


def test_per_aggregate_order_the_second_message_waits_for_the_first(django_capture_on_commit_callbacks):
    handler = RecordingHandler(fail_times=1, error=UNAVAILABLE)
    use_handler("catalog.sync", handler)
    with django_capture_on_commit_callbacks(execute=True):
        first = send(catalog_sync_payload(name="v1"), aggregate_key="course:1")
        second = send(catalog_sync_payload(name="v2"), aggregate_key="course:1")
        other = send(catalog_sync_payload(name="other"), aggregate_key="course:2")
    first, second, other = refreshed(first), refreshed(second), refreshed(other)
    assert first.status == "pending" and first.attempts == 1
    assert second.status == "pending" and second.attempts == 0, "never attempted while the first is pending"
    assert other.status == "delivered", "other aggregates do not wait"
    far_future = timezone.now() + timedelta(days=1)
    assert outbox.outbox_deliver(message_id=second.message_id, now=far_future, force=True) is None

    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.outbox_sweep(now=first.next_attempt_at) == 1, "the sweep skips the waiting message"
    assert refreshed(first).status == "delivered"
    assert refreshed(second).status == "delivered", "the first one's delivery hands on to the next"
    assert handler.keys == [first.idempotency_key, other.idempotency_key, first.idempotency_key,
                            second.idempotency_key]


def test_a_dead_letter_no_longer_blocks_its_aggregate(no_enqueue):
    handler = RecordingHandler(fail_times=1, error=RemoteServiceError.relay(code="refused", status_code=422))
    use_handler("catalog.sync", handler)
    first = send(aggregate_key="course:1")
    second = send(aggregate_key="course:1")
    assert outbox.outbox_deliver(message_id=first.message_id).status == "dead"
    assert outbox.outbox_deliver(message_id=second.message_id).status == "delivered"


def test_reply_handlers_get_the_payload_and_the_answer(no_enqueue, catalog_handler):
    replies = []
    registry.register_reply_handler("catalog.sync", lambda payload, response: replies.append((payload, response)))
    message = outbox.outbox_deliver(message_id=send().message_id)
    assert message.status == "delivered"
    payload, response = replies[0]
    assert payload.products[0].suggested_price == Decimal("199.00"), "the typed message, Decimal money"
    assert response.results[0].product_id == "prod-course-101", "the typed answer"


def test_a_failing_reply_handler_rolls_back_the_local_handler_with_it_and_the_retry_runs_both(
        no_enqueue, catalog_handler):
    from integration.models import InboxEntry

    calls = []

    def flaky_reply(payload, response):
        calls.append(response)
        if len(calls) == 1:
            raise RuntimeError("database blip")

    registry.register_reply_handler("catalog.sync", flaky_reply)
    message = outbox.outbox_deliver(message_id=send().message_id)
    assert message.status == "pending"
    assert message.delivery_attempts.get().outcome == "error"
    assert not InboxEntry.objects.exists(), "handler, inbox row and delivered mark commit together or not at all"
    message = outbox.outbox_deliver(message_id=message.message_id, now=message.next_attempt_at)
    assert message.status == "delivered"
    assert len(catalog_handler.calls) == 2
    assert calls[0] == calls[1]
    assert InboxEntry.objects.get().state == "done"


@responses.activate
def test_over_http_a_failing_reply_handler_retries_and_the_receiver_answers_the_same(no_enqueue, over_http):
    answer = {"success": True, "processed": 1, "results": []}
    responses.post(f"{COMMERCE}/api/v1/catalog/sync", json=answer)
    calls = []

    def flaky_reply(payload, response):
        calls.append(response)
        if len(calls) == 1:
            raise RuntimeError("database blip")

    registry.register_reply_handler("catalog.sync", flaky_reply)
    message = outbox.outbox_deliver(message_id=send().message_id)
    assert message.status == "pending"
    message = outbox.outbox_deliver(message_id=message.message_id, now=message.next_attempt_at)
    assert message.status == "delivered"
    assert len(responses.calls) == 2
    assert len(calls) == 2 and calls[0] == calls[1]


def test_the_sweep_of_many_messages_has_bounded_queries(no_enqueue, catalog_handler,
                                                        django_assert_max_num_queries):
    for n in range(10):
        send(aggregate_key=f"course:{n}")
    # Per message: lease (3, or 5 with a row lock), inbox claim and answer (6), record (4).
    with django_assert_max_num_queries(1 + 10 * 15):
        assert outbox.outbox_sweep() == 10
    assert OutboxMessage.objects.filter(status="delivered").count() == 10


def test_deliver_now_ignores_the_schedule_but_not_the_order(no_enqueue):
    handler = RecordingHandler(fail_times=1, error=UNAVAILABLE)
    use_handler("catalog.sync", handler)
    message = outbox.outbox_deliver(message_id=send().message_id)
    assert message.next_attempt_at > timezone.now()
    assert outbox.outbox_deliver_now(message_id=message.message_id).status == "delivered"


def test_delivery_attempt_records_timing_and_excerpt(no_enqueue, catalog_handler):
    message = outbox.outbox_deliver(message_id=send().message_id)
    attempt = message.delivery_attempts.get()
    assert attempt.number == 1
    assert attempt.duration_ms >= 0
    assert attempt.started_at <= timezone.now()
    assert '"productId":"prod-course-101"' in attempt.response_excerpt
    assert len(attempt.response_excerpt) <= 1024
    assert DeliveryAttempt.objects.count() == 1


def test_a_sweep_stops_starting_deliveries_when_its_time_budget_is_spent(no_enqueue, catalog_handler):
    for n in range(3):
        send(aggregate_key=f"course:{n}")
    assert outbox.outbox_sweep(budget_seconds=-1) == 0
    assert outbox.outbox_sweep() == 3
