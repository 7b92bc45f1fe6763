"""The outbox: durable cross-app sends with retries, backoff, per-aggregate order and a dead letter list.

A sender calls :func:`outbox_send` inside its own transaction, so the message
exists exactly when the sender's change does. After commit a Celery task
delivers it; if that enqueue is lost (crash after commit, broker down, worker
killed) :func:`outbox_sweep`, run by beat every 15 s, finds the message by its
``next_attempt_at`` and delivers it.

Retry times live in the row (``next_attempt_at``), never in Celery countdowns,
so a restart loses no schedule. With the defaults (10 attempts, 60 s doubling,
capped at 4 h, +/-20% jitter) the nine gaps are nominally 1, 2, 4, 8, 16, 32,
64, 128 and 240 minutes: 495 minutes (8 h 15 min) from the first attempt to the
dead letter, between 396 and 546 minutes with jitter.
"""

import random
import time
import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial

import structlog
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from integration import metrics, registry, routes
from integration.contracts import (
    InvalidPayloadError,
    body_sha256,
    has_idempotency_key_field,
    to_json_types,
    validate_message,
)
from integration.errors import ConflictError
from integration.logging import get_logger
from integration.models import DeliveryAttempt, OutboxMessage
from integration.selectors import outbox_dead_letter_ids
from integration.transport import (
    HTTP,
    LOCAL,
    DeliveryResult,
    current_request_id,
    deliver_message,
    route_is_local,
)

logger = get_logger(__name__)

# Answers that a later attempt may turn into a success; any other 4xx is final.
RETRYABLE_CLIENT_ERRORS = frozenset({408, 409, 425, 429})
RETRY_AFTER_STATUSES = frozenset({429, 503})
JITTER = 0.2
SWEEP_BUDGET_SECONDS = 60.0


class OutboxReplayError(ConflictError):
    code = "not_dead_lettered"
    default_message = "Only a dead-lettered message can be replayed."


def outbox_send(*, topic: str, payload: dict, aggregate_key: str,
                idempotency_key: str | None = None) -> OutboxMessage:
    """Writes a message for delivery after the caller's transaction commits.

    Call it inside the transaction that makes the change the message reports:
    a rollback then sends nothing. ``payload`` is the topic's wire shape and is
    checked against its contract here (400 ``invalid_payload``). The key is the
    payload's ``idempotencyKey``, else ``idempotency_key``, else a new UUID,
    written into the payload when the contract has the field. Sending the same
    key and body again returns the message already written.
    """
    payload = dict(payload)
    body_key = payload.get("idempotencyKey")
    if body_key and idempotency_key and body_key != idempotency_key:
        raise InvalidPayloadError(details={"idempotencyKey": ["Differs from the idempotency_key argument."]})
    key = str(body_key or idempotency_key or uuid.uuid4())
    if not body_key and has_idempotency_key_field(topic):
        payload["idempotencyKey"] = key
    wire_payload = to_json_types(validate_message(topic, payload))

    now = timezone.now()
    try:
        with transaction.atomic():
            message = OutboxMessage.objects.create(
                topic=topic, aggregate_key=aggregate_key, payload=wire_payload, idempotency_key=key,
                request_id=current_request_id()[:64], next_attempt_at=now, created_at=now)
    except IntegrityError:
        message = OutboxMessage.objects.filter(idempotency_key=key).first()
        if message is None or message.topic != topic or body_sha256(message.payload) != body_sha256(wire_payload):
            raise ConflictError("This idempotency key was already used for another message.",
                                code="idempotency_key_reused", details={"idempotencyKey": key}) from None
        return message
    transaction.on_commit(partial(_enqueue_delivery, message.message_id))
    return message


def outbox_deliver(*, message_id: uuid.UUID | str, now: datetime | None = None,
                   force: bool = False) -> OutboxMessage | None:
    """One delivery attempt, if the message is due, not leased, and first in line for its aggregate.

    Returns the message as it stands after the attempt, or ``None`` when there
    was nothing to do (delivered, dead, leased by another worker, not due, or
    an older message for the same aggregate is still pending). ``force``
    ignores ``next_attempt_at`` ("Deliver now"), never the order.
    """
    message = _lease(message_id=message_id, now=now or timezone.now(), force=force)
    if message is None:
        return None
    with structlog.contextvars.bound_contextvars(request_id=message.request_id,
                                                 outbox_message_id=str(message.message_id)):
        started_at = timezone.now()
        started = time.monotonic()
        try:
            result = deliver_message(topic=message.topic, payload=message.payload,
                                     idempotency_key=message.idempotency_key, request_id=message.request_id)
        except Exception as exc:
            # The adapters report failures as results; reaching here is a bug, and the lease must not strand.
            logger.exception("outbox adapter raised")
            result = DeliveryResult(transport=LOCAL if route_is_local(routes.TOPICS[message.topic]) else HTTP,
                                    status_code=None, error=f"{exc.__class__.__name__}: {exc}")
        duration_ms = max(0, int((time.monotonic() - started) * 1000))
        return _record(message, result, now=now or timezone.now(), started_at=started_at,
                       duration_ms=duration_ms)


def outbox_deliver_now(*, message_id: uuid.UUID | str) -> OutboxMessage:
    """Attempts a pending message at once, whatever its schedule (admin "Deliver now")."""
    outbox_deliver(message_id=message_id, force=True)
    return OutboxMessage.objects.get(message_id=message_id)


def outbox_sweep(*, now: datetime | None = None, limit: int = 500,
                 budget_seconds: float = SWEEP_BUDGET_SECONDS) -> int:
    """Delivers due messages whose enqueue was lost or whose retry time has come; returns how many were tried.

    Messages waiting behind an older pending one of their aggregate are left
    for that one's delivery to hand on. Runs every 15 s from beat; a sweep
    stops starting deliveries after ``budget_seconds`` (a receiver that times
    out must not hold a worker for ``limit`` timeouts) and the next one goes on.
    """
    deadline = time.monotonic() + budget_seconds
    now = now or timezone.now()
    older_pending = OutboxMessage.objects.filter(
        aggregate_key=OuterRef("aggregate_key"), status=OutboxMessage.Status.PENDING, id__lt=OuterRef("id"))
    due = list(
        OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
        .filter(~Exists(older_pending))
        .order_by("id")
        .values_list("message_id", flat=True)[:limit])
    tried = 0
    for message_id in due:
        if time.monotonic() > deadline:
            break
        outbox_deliver(message_id=message_id, now=now)
        tried += 1
    if tried:
        logger.info("outbox sweep", tried=tried, due=len(due))
    return tried


def outbox_replay(*, message_id: uuid.UUID | str, now: datetime | None = None) -> OutboxMessage:
    """Puts a dead letter back in line with a fresh set of attempts; delivery is enqueued after commit."""
    with transaction.atomic():
        replayed = OutboxMessage.objects.filter(message_id=message_id, status=OutboxMessage.Status.DEAD).update(
            status=OutboxMessage.Status.PENDING, attempts=0, next_attempt_at=now or timezone.now(),
            leased_until=None, response=None)
        if not replayed:
            raise OutboxReplayError(details={"messageId": str(message_id)})
        transaction.on_commit(partial(_enqueue_delivery, message_id))
    logger.info("outbox message replayed", message_id=str(message_id))
    return OutboxMessage.objects.get(message_id=message_id)


def outbox_replay_many(*, message_ids: Iterable[uuid.UUID | str], now: datetime | None = None) -> int:
    """Replays each of ``message_ids`` that is still dead-lettered; returns how many were."""
    replayed = 0
    for message_id in message_ids:
        try:
            outbox_replay(message_id=message_id, now=now)
        except OutboxReplayError:
            continue  # replayed (or never dead) meanwhile
        replayed += 1
    return replayed


def outbox_replay_all_dead(*, now: datetime | None = None) -> int:
    """Replays every dead letter, oldest first; returns how many."""
    return outbox_replay_many(message_ids=outbox_dead_letter_ids(), now=now)


def retry_delay(*, attempt: int, retry_after_seconds: float | None = None) -> timedelta:
    """The wait after failed attempt number ``attempt`` (1-based).

    ``OUTBOX_BASE_DELAY_SECONDS`` doubled per attempt, +/-20% jitter so that
    senders failing together do not retry together, never less than the
    receiver's ``Retry-After`` and never more than ``OUTBOX_MAX_DELAY_SECONDS``.
    """
    cap = settings.OUTBOX_MAX_DELAY_SECONDS
    nominal = min(cap, settings.OUTBOX_BASE_DELAY_SECONDS * 2 ** min(max(attempt, 1) - 1, 32))
    delay = nominal * random.uniform(1 - JITTER, 1 + JITTER)
    if retry_after_seconds is not None:
        delay = max(delay, retry_after_seconds)
    return timedelta(seconds=min(delay, cap))


def is_permanent_failure(status_code: int) -> bool:
    """A 3xx (misrouted) or a 4xx other than 408/409/425/429: the same request can never succeed."""
    return 300 <= status_code < 500 and status_code not in RETRYABLE_CLIENT_ERRORS


# --- internals ---------------------------------------------------------------

def _lease(*, message_id: uuid.UUID | str, now: datetime, force: bool) -> OutboxMessage | None:
    """Takes the message for one attempt (counted now, so a worker that dies mid-call still uses one up)."""
    leased_until = now + timedelta(seconds=max(60.0, settings.OUTBOX_HTTP_TIMEOUT_SECONDS * 3))
    available = Q(status=OutboxMessage.Status.PENDING) & (Q(leased_until__isnull=True) | Q(leased_until__lte=now))
    if not force:
        available &= Q(next_attempt_at__lte=now)
    candidates = OutboxMessage.objects.filter(available, message_id=message_id)
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            message = candidates.select_for_update(skip_locked=True).first()
            if message is None or _waits_for_older(message):
                return None
            message.leased_until = leased_until
            message.attempts += 1
            message.save(update_fields=["leased_until", "attempts"])
            return message
    # Without row locks (SQLite) the claim is a conditional UPDATE that only one writer can win:
    # it matches only while the row is still as we read it.
    message = candidates.first()
    if message is None or _waits_for_older(message):
        return None
    if not OutboxMessage.objects.filter(available, pk=message.pk, attempts=message.attempts).update(
            leased_until=leased_until, attempts=message.attempts + 1):
        return None
    message.leased_until = leased_until
    message.attempts += 1
    return message


def _waits_for_older(message: OutboxMessage) -> bool:
    return OutboxMessage.objects.filter(aggregate_key=message.aggregate_key, status=OutboxMessage.Status.PENDING,
                                        id__lt=message.id).exists()


def _record(message: OutboxMessage, result: DeliveryResult, *, now: datetime, started_at: datetime,
            duration_ms: int) -> OutboxMessage:
    attempt = {"message": message, "number": message.attempts, "transport": result.transport,
               "started_at": started_at, "duration_ms": duration_ms, "status_code": result.status_code,
               "response_excerpt": result.excerpt}
    if result.succeeded:
        try:
            with transaction.atomic():
                # The sender's reply handlers commit with the delivered mark, or neither does and
                # the retry asks the receiver again (its inbox answers the same) until they succeed.
                _run_reply_handlers(message, result.body or {})
                OutboxMessage.objects.filter(pk=message.pk, status=OutboxMessage.Status.PENDING).update(
                    status=OutboxMessage.Status.DELIVERED, delivered_at=now, response=result.body,
                    leased_until=None, last_error="")
                DeliveryAttempt.objects.create(outcome=DeliveryAttempt.Outcome.SUCCESS, **attempt)
                transaction.on_commit(partial(_enqueue_next, message.aggregate_key))
        except Exception as exc:
            logger.exception("outbox reply handler failed", topic=message.topic)
            result = replace(result, error=f"reply handler {exc.__class__.__name__}: {exc}")
            return _record_failure(message, result, now=now, attempt=attempt,
                                   outcome=DeliveryAttempt.Outcome.ERROR)
        metrics.delivery_attempts_total.labels(topic=message.topic, outcome="success").inc()
        metrics.delivery_seconds.labels(topic=message.topic).observe(
            max(0.0, (now - message.created_at).total_seconds()))
        message.status, message.delivered_at, message.response = OutboxMessage.Status.DELIVERED, now, result.body
        message.leased_until, message.last_error = None, ""
        return message

    if result.status_code is None:
        outcome = DeliveryAttempt.Outcome.ERROR
    elif is_permanent_failure(result.status_code):
        outcome = DeliveryAttempt.Outcome.PERMANENT_FAILURE
    else:
        outcome = DeliveryAttempt.Outcome.RETRY
    return _record_failure(message, result, now=now, attempt=attempt, outcome=outcome)


def _record_failure(message: OutboxMessage, result: DeliveryResult, *, now: datetime, attempt: dict,
                    outcome: str) -> OutboxMessage:
    error = result.error or (f"HTTP {result.status_code}" if result.status_code else "no answer")
    dead = outcome == DeliveryAttempt.Outcome.PERMANENT_FAILURE or message.attempts >= settings.OUTBOX_MAX_ATTEMPTS
    changes: dict = {"leased_until": None, "last_error": error}
    if dead:
        changes["status"] = OutboxMessage.Status.DEAD
        changes["response"] = result.body if result.body is not None else (
            {"raw": result.excerpt} if result.excerpt else None)
    else:
        retry_after = result.retry_after_seconds if result.status_code in RETRY_AFTER_STATUSES else None
        changes["next_attempt_at"] = now + retry_delay(attempt=message.attempts, retry_after_seconds=retry_after)
    with transaction.atomic():
        DeliveryAttempt.objects.create(outcome=outcome, error=error, **attempt)
        OutboxMessage.objects.filter(pk=message.pk, status=OutboxMessage.Status.PENDING).update(**changes)
        if dead:
            # The aggregate's next message no longer waits behind this one.
            transaction.on_commit(partial(_enqueue_next, message.aggregate_key))
    for field, value in changes.items():
        setattr(message, field, value)
    metrics.delivery_attempts_total.labels(topic=message.topic, outcome=outcome).inc()
    log = logger.warning if dead else logger.info
    log("outbox delivery failed", topic=message.topic, attempt=message.attempts, dead=dead, error=error[:300])
    return message


def _run_reply_handlers(message: OutboxMessage, response: dict) -> None:
    handlers = registry.get_reply_handlers(message.topic)
    if not handlers:
        return
    payload = validate_message(message.topic, message.payload)
    for handler in handlers:
        handler(payload, response)


def _enqueue_next(aggregate_key: str) -> None:
    following = (OutboxMessage.objects.filter(aggregate_key=aggregate_key, status=OutboxMessage.Status.PENDING)
                 .order_by("id").values_list("message_id", flat=True).first())
    if following is not None:
        _enqueue_delivery(following)


def _enqueue_delivery(message_id: uuid.UUID | str) -> None:
    from integration import tasks

    try:
        tasks.outbox_deliver.delay(message_id=str(message_id))
    except Exception:
        # The row is committed: the sweep delivers it even if the broker is down right now.
        logger.exception("outbox enqueue failed; the sweep will deliver", message_id=str(message_id))
