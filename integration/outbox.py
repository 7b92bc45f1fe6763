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
from datetime import datetime, timedelta
from functools import lru_cache, partial

import structlog
from django.conf import settings
from django.db import connection, transaction
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
from integration.db import RowUpdate, insert_ignore, update_together
from integration.errors import ConflictError
from integration.logging import get_logger
from integration.models import DeliveryAttempt, Heartbeat, OutboxMessage
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
SWEEP_HEARTBEAT = "outbox_sweep"


class OutboxKeyReusedError(ConflictError):
    code = "outbox_key_reused"
    default_message = "This idempotency key was already used for another message."


class OutboxReplayError(ConflictError):
    code = "not_dead_lettered"
    default_message = "Only a dead-lettered message can be replayed."


class OutboxDismissError(OutboxReplayError):
    default_message = "Only a dead-lettered message can be dismissed."


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
    # A typed message (the topic's WireModel) or its wire dict.
    payload = payload.to_wire() if hasattr(payload, "to_wire") else dict(payload)
    body_key = payload.get("idempotencyKey")
    if body_key and idempotency_key and body_key != idempotency_key:
        raise InvalidPayloadError(details={"idempotencyKey": ["Differs from the idempotency_key argument."]})
    key = str(body_key or idempotency_key or uuid.uuid4())
    if not body_key and has_idempotency_key_field(topic):
        payload["idempotencyKey"] = key
    wire_payload = to_json_types(validate_message(topic, payload))

    now = timezone.now()
    message = OutboxMessage(topic=topic, aggregate_key=aggregate_key, payload=wire_payload, idempotency_key=key,
                            request_id=current_request_id()[:64], next_attempt_at=now, created_at=now)
    if not _insert_new([message]):
        return _already_sent([message])[0]
    transaction.on_commit(partial(_enqueue_delivery, message.message_id))
    return message


def outbox_send_many(messages: Iterable[dict]) -> list[OutboxMessage]:
    """:func:`outbox_send` for several messages in one INSERT (each a dict of its keyword arguments).

    Each is checked against its contract like a single send, and a key already taken (by an earlier
    send or earlier in ``messages``) follows its "same key, same body" rule.
    """
    messages = list(messages)
    now = timezone.now()
    rows = []
    for message in messages:
        topic, payload = message["topic"], message["payload"]
        payload = payload.to_wire() if hasattr(payload, "to_wire") else dict(payload)
        body_key, idempotency_key = payload.get("idempotencyKey"), message.get("idempotency_key")
        if body_key and idempotency_key and body_key != idempotency_key:
            raise InvalidPayloadError(details={"idempotencyKey": ["Differs from the idempotency_key argument."]})
        key = str(body_key or idempotency_key or uuid.uuid4())
        if not body_key and has_idempotency_key_field(topic):
            payload["idempotencyKey"] = key
        rows.append(OutboxMessage(topic=topic, aggregate_key=message["aggregate_key"], idempotency_key=key,
                                  payload=to_json_types(validate_message(topic, payload)),
                                  request_id=current_request_id()[:64], next_attempt_at=now, created_at=now))
    written = {id(row) for row in _insert_new(rows)}
    taken = iter(_already_sent([row for row in rows if id(row) not in written]))
    for row in rows:
        if id(row) in written:
            transaction.on_commit(partial(_enqueue_delivery, row.message_id))
    return [row if id(row) in written else next(taken) for row in rows]


def outbox_deliver(*, message_id: uuid.UUID | str, now: datetime | None = None,
                   force: bool = False) -> OutboxMessage | None:
    """One delivery attempt, if the message is due, not leased, and first in line for its aggregate.

    Returns the message as it stands after the attempt, or ``None`` when there
    was nothing to do (delivered, dead, leased by another worker, not due, or
    an older message for the same aggregate is still pending). ``force``
    ignores ``next_attempt_at`` ("Deliver now"), never the order.

    Two transactions: the lease (the attempt counted and its record started, in
    one statement on PostgreSQL), then the outcome. On the local adapter the
    second one also holds the receiver's handler and inbox row, so a worker
    killed inside the handler leaves nothing half-done: its lease runs out and
    the next sweep delivers again. ``now`` is for tests that move time; left
    out, the lease and the outcome each read the clock.
    """
    message = _lease(message_id=message_id, now=now or timezone.now(), force=force)
    if message is None:
        return None
    with structlog.contextvars.bound_contextvars(request_id=message.request_id,
                                                 outbox_message_id=str(message.message_id)):
        return _attempt(message, now=now)


def outbox_deliver_now(*, message_id: uuid.UUID | str) -> OutboxMessage:
    """Attempts a pending message at once, whatever its schedule (admin "Deliver now")."""
    outbox_deliver(message_id=message_id, force=True)
    return OutboxMessage.objects.get(message_id=message_id)


def outbox_sweep(*, now: datetime | None = None, limit: int = 500,
                 budget_seconds: float = SWEEP_BUDGET_SECONDS) -> int:
    """Delivers due messages whose enqueue was lost or whose retry time has come; returns how many were tried.

    Messages waiting behind an older pending one of their aggregate are left
    for that one's delivery to hand on. Runs every 15 s from beat and records
    its heartbeat first (``/readyz`` and ``/metrics`` say when sweeps stop); a
    sweep stops starting deliveries after ``budget_seconds`` (a receiver that
    times out must not hold a worker for ``limit`` timeouts) and the next one
    goes on. Each delivery reads the clock itself (unless a test passes ``now``),
    so its lease and ``delivered_at`` are its own, not the sweep's start.
    """
    deadline = time.monotonic() + budget_seconds
    swept_at = now or timezone.now()
    heartbeat_record(name=SWEEP_HEARTBEAT, now=swept_at)
    older_pending = OutboxMessage.objects.filter(
        aggregate_key=OuterRef("aggregate_key"), status=OutboxMessage.Status.PENDING, id__lt=OuterRef("id"))
    due = list(
        OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, next_attempt_at__lte=swept_at)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=swept_at))
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


def outbox_purge(*, now: datetime | None = None, batch_size: int = 1000) -> int:
    """Deletes delivered and dismissed messages (and their attempts) older than ``OUTBOX_RETENTION_DAYS``.

    Pending messages and dead letters are never purged: a dead letter stays
    until it is replayed or dismissed. Deletes in batches so that a large
    backlog does not hold one long transaction. Returns how many messages went.
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.OUTBOX_RETENTION_DAYS)
    settled = (Q(status=OutboxMessage.Status.DELIVERED, delivered_at__lt=cutoff)
               | Q(status=OutboxMessage.Status.DISMISSED, dismissed_at__lt=cutoff))
    purged = 0
    while True:
        ids = list(OutboxMessage.objects.filter(settled).order_by("id").values_list("id", flat=True)[:batch_size])
        if not ids:
            break
        with transaction.atomic():
            DeliveryAttempt.objects.filter(message_id__in=ids)._raw_delete(DeliveryAttempt.objects.db)
            purged += OutboxMessage.objects.filter(id__in=ids).filter(settled)._raw_delete(OutboxMessage.objects.db)
    if purged:
        logger.info("outbox purged", deleted=purged, retention_days=settings.OUTBOX_RETENTION_DAYS)
    return purged


def outbox_dismiss(*, message_id: uuid.UUID | str, now: datetime | None = None) -> OutboxMessage:
    """Takes a dead letter off the list without replaying it; the purge deletes it after the retention."""
    dismissed = OutboxMessage.objects.filter(message_id=message_id, status=OutboxMessage.Status.DEAD).update(
        status=OutboxMessage.Status.DISMISSED, dismissed_at=now or timezone.now())
    if not dismissed:
        raise OutboxDismissError(details={"messageId": str(message_id)})
    logger.info("outbox dead letter dismissed", message_id=str(message_id))
    return OutboxMessage.objects.get(message_id=message_id)


def outbox_dismiss_many(*, message_ids: Iterable[uuid.UUID | str], now: datetime | None = None) -> int:
    """Dismisses each of ``message_ids`` that is still dead-lettered; returns how many were."""
    dismissed = 0
    for message_id in message_ids:
        try:
            outbox_dismiss(message_id=message_id, now=now)
        except OutboxDismissError:
            continue
        dismissed += 1
    return dismissed


def outbox_sweep_age_seconds(*, now: datetime | None = None) -> float | None:
    """Seconds since the last outbox sweep started, or None if none ever ran (one primary-key read)."""
    beat_at = Heartbeat.objects.filter(name=SWEEP_HEARTBEAT).values_list("beat_at", flat=True).first()
    if beat_at is None:
        return None
    return max(0.0, ((now or timezone.now()) - beat_at).total_seconds())


def heartbeat_record(*, name: str, now: datetime) -> None:
    """Notes that periodic job ``name`` ran at ``now`` (one UPDATE; an INSERT the first time)."""
    if not Heartbeat.objects.filter(name=name).update(beat_at=now):
        Heartbeat.objects.bulk_create([Heartbeat(name=name, beat_at=now)], ignore_conflicts=True)


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

class _AttemptFailed(Exception):
    """Leaves the local delivery's transaction so that the handler's writes roll back with its failure."""

    def __init__(self, result: DeliveryResult):
        super().__init__(result.error)
        self.result = result


_LEASE_RETURNS = "id, message_id, topic, aggregate_key, payload, idempotency_key, request_id, status, " \
                 "attempts, next_attempt_at, leased_until, created_at, delivered_at, dismissed_at, last_error, response"
_LEASE_FIELDS = tuple(name.strip() for name in _LEASE_RETURNS.split(","))


@lru_cache(maxsize=16)
def _lease_sql(*, force: bool, skip_locked: bool, vendor: str) -> str:
    """The lease as one UPDATE: due, free, first in line for its aggregate, and attempts counted.

    Its text depends only on the model and the flags: built once per process (``vendor`` is in the cache's key).
    """
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    due = "" if force else " AND m.next_attempt_at <= %(now)s"
    lock = " FOR UPDATE OF m SKIP LOCKED" if skip_locked else ""
    return (
        f"UPDATE {table} SET leased_until = %(until)s, attempts = attempts + 1 WHERE id = ("  # noqa: S608 (table names from the models; values are parameters)
        f"SELECT m.id FROM {table} m WHERE m.message_id = %(message_id)s AND m.status = 'pending'"
        f" AND (m.leased_until IS NULL OR m.leased_until <= %(now)s){due}"
        f" AND NOT EXISTS (SELECT 1 FROM {table} o WHERE o.aggregate_key = m.aggregate_key"
        f" AND o.status = 'pending' AND o.id < m.id){lock}) RETURNING {_LEASE_RETURNS}")


def _lease(*, message_id: uuid.UUID | str, now: datetime, force: bool) -> OutboxMessage | None:
    """Takes the message for one attempt: counted and recorded as started before anything is called.

    A worker that dies mid-call has still used the attempt up, and its record
    says it started. On PostgreSQL the lease and the attempt record are one
    statement (``FOR UPDATE SKIP LOCKED``: concurrent workers never wait on
    each other); SQLite, whose writers are serialized, runs the same UPDATE and
    the INSERT in one short transaction.

    Run as its own transaction (no atomic block around it), the PostgreSQL lease
    commits without waiting for its WAL flush (``synchronous_commit`` off for that
    transaction only): the commit is visible to every other worker at once, so
    leases exclude each other as before, and it becomes durable with the next
    flush, at the latest with the attempt's outcome, whose commit waits for it
    (the WAL is flushed in order). Only a database crash in the next few hundred
    milliseconds can lose it, and then with everything the attempt wrote: the
    message is simply not yet attempted.
    """
    try:
        message_uuid = message_id if isinstance(message_id, uuid.UUID) else uuid.UUID(str(message_id))
    except ValueError:
        return None
    prep = _prep_value
    params = {"message_id": prep(OutboxMessage, "message_id", message_uuid),
              "now": prep(OutboxMessage, "leased_until", now),
              "until": prep(OutboxMessage, "leased_until", now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS))}
    if connection.vendor == "postgresql":
        # set_config(..., true) lasts until this statement's own commit; inside a caller's transaction it
        # would last until the caller's, so there the lease commits (with the caller) as usual.
        async_commit = not connection.in_atomic_block
        params["local_topics"] = _local_topics(settings.SERVES_COMMERCE, settings.SERVES_LMS,
                                               settings.INTEGRATION_FORCE_HTTP)
        with connection.cursor() as cursor:
            cursor.execute(_pg_lease_sql(force=force, async_commit=async_commit), params)
            row = cursor.fetchone()
        if row is None:
            return None
        message = _message_from_row(row)
        message.attempt_id = row[len(_LEASE_FIELDS)]
        return message
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_lease_sql(force=force, skip_locked=False, vendor=connection.vendor), params)
            row = cursor.fetchone()
        if row is None:
            return None
        message = _message_from_row(row)
        message.attempt_id = DeliveryAttempt.objects.create(
            message_id=message.pk, number=message.attempts, transport=_transport_of(message.topic),
            started_at=now, outcome=DeliveryAttempt.Outcome.STARTED).pk
        return message


@lru_cache(maxsize=8)
def _local_topics(serves_commerce: bool, serves_lms: bool, force_http: bool) -> list[str]:
    """The topics delivered in process, per value of the settings that decide it (routes.calls_in_process)."""
    return [name for name, route in routes.TOPICS.items() if route_is_local(route)]


@lru_cache(maxsize=8)
def _pg_lease_sql(*, force: bool, async_commit: bool) -> str:
    """The PostgreSQL lease and its attempt record as one statement (text built once per flag pair)."""
    attempts = connection.ops.quote_name(DeliveryAttempt._meta.db_table)
    flush_later = "async_commit AS (SELECT set_config('synchronous_commit', 'off', true)), " if async_commit else ""
    return (f"WITH {flush_later}leased AS ({_lease_sql(force=force, skip_locked=True, vendor='postgresql')}), "  # noqa: S608 (table names from the models; values are parameters)
            f"started AS (INSERT INTO {attempts} (message_id, number, transport, started_at, outcome, "
            "response_excerpt, error)"
            " SELECT id, attempts, CASE WHEN topic = ANY(%(local_topics)s) THEN 'local' ELSE 'http' END,"
            " %(now)s, 'started', '', '' FROM leased RETURNING id)"
            f" SELECT {', '.join(f'leased.{name}' for name in _LEASE_FIELDS)}, started.id AS attempt_id"
            f" FROM leased CROSS JOIN started{' CROSS JOIN async_commit' if async_commit else ''}")


def _message_from_row(row: tuple) -> OutboxMessage:
    """An :class:`OutboxMessage` from a row starting with the ``_LEASE_RETURNS`` columns, each value converted
    as the ORM's own reads convert it (a RawQuerySet cost ~0.3 ms of CPU per lease to map its columns)."""
    values = list(row[:len(_LEASE_FIELDS)])
    for index, column, steps in _lease_converters(connection.vendor):
        for step in steps:
            values[index] = step(values[index], column, connection)
    return OutboxMessage.from_db(connection.alias, _LEASE_FIELDS, values)


@lru_cache(maxsize=4)
def _lease_converters(vendor: str) -> list[tuple]:
    """Per column of ``_LEASE_RETURNS`` that has any: the backend's and the field's converters (JSON text to a
    dict, SQLite's datetime strings and UUID hex), which the compiler would apply; looked up once per backend."""
    converters = []
    for index, name in enumerate(_LEASE_FIELDS):
        model_field = OutboxMessage._meta.get_field(name)
        column = model_field.get_col(OutboxMessage._meta.db_table)
        steps = [*connection.ops.get_db_converters(column), *model_field.get_db_converters(connection)]
        if steps:
            converters.append((index, column, steps))
    return converters


def _prep_value(model, field_name: str, value):
    return model._meta.get_field(field_name).get_db_prep_value(value, connection, prepared=False)


def _transport_of(topic: str) -> str:
    return LOCAL if route_is_local(routes.TOPICS[topic]) else HTTP


_INSERTED_FIELDS = ("message_id", "topic", "aggregate_key", "payload", "idempotency_key", "request_id", "status",
                    "attempts", "next_attempt_at", "leased_until", "created_at", "delivered_at", "dismissed_at",
                    "last_error", "response")


def _insert_new(messages: list[OutboxMessage]) -> list[OutboxMessage]:
    """One INSERT … ON CONFLICT (idempotency_key) DO NOTHING: the messages it wrote, their ids set.

    No savepoint: a taken key writes nothing instead of raising (on PostgreSQL a concurrent sender's
    uncommitted row of the same key makes this wait for its commit, as the unique index did before).
    The first of two messages with one key in ``messages`` is the one written.
    """
    if not messages:
        return []
    written = dict(insert_ignore(OutboxMessage, [{name: getattr(message, name) for name in _INSERTED_FIELDS}
                                                 for message in messages],
                                 conflict=["idempotency_key"], returning=["idempotency_key", "pk"]))
    new = []
    for message in messages:
        pk = written.pop(message.idempotency_key, None)
        if pk is not None:
            message.pk = pk
            message._state.adding, message._state.db = False, connection.alias
            new.append(message)
    return new


def _already_sent(messages: list[OutboxMessage]) -> list[OutboxMessage]:
    """The messages stored under the keys of ``messages``, in their order, if each has the same topic and body.

    :class:`OutboxKeyReusedError` for a key stored with another topic or body (or gone again: a concurrent
    sender's row purged meanwhile).
    """
    if not messages:
        return []
    stored = {message.idempotency_key: message for message in
              OutboxMessage.objects.filter(idempotency_key__in={message.idempotency_key for message in messages})}
    found = []
    for message in messages:
        existing = stored.get(message.idempotency_key)
        if (existing is None or existing.topic != message.topic
                or body_sha256(existing.payload) != body_sha256(message.payload)):
            raise OutboxKeyReusedError(details={"idempotencyKey": message.idempotency_key})
        found.append(existing)
    return found


def _attempt(message: OutboxMessage, *, now: datetime | None) -> OutboxMessage:
    """Calls the receiver and records the outcome; never raises for the receiver's answer."""
    transport = _transport_of(message.topic)
    reply_handlers = registry.get_reply_handlers(message.topic)
    # The contract is checked once per delivery: the local handler and the reply handlers share it.
    validated = validate_message(message.topic, message.payload) if transport == LOCAL or reply_handlers else None
    started = time.monotonic()
    call = partial(deliver_message, topic=message.topic, payload=message.payload, validated=validated,
                   idempotency_key=message.idempotency_key, request_id=message.request_id,
                   lease_expires_at=message.leased_until, now=now)
    try:
        if transport == LOCAL:
            with transaction.atomic():
                result = call(in_transaction=True)
                if not result.succeeded:
                    raise _AttemptFailed(result)
                return _record_success(message, result, validated=validated, reply_handlers=reply_handlers,
                                       now=now, started=started)
        result = call(in_transaction=False)
        if result.succeeded:
            with transaction.atomic():
                return _record_success(message, result, validated=validated, reply_handlers=reply_handlers,
                                       now=now, started=started)
    except _AttemptFailed as failed:
        result = failed.result
    except Exception as exc:
        # A reply handler (or the adapter, which reports failures as results: a bug) raised. The handler's
        # and the reply's writes rolled back; the retry asks the receiver again and its inbox answers the same.
        logger.exception("outbox delivery raised", topic=message.topic)
        result = DeliveryResult(transport=transport, status_code=None, error=f"{exc.__class__.__name__}: {exc}")
    return _record_failure(message, result, now=now, started=started)


def _duration_ms(started: float) -> int:
    return max(0, int((time.monotonic() - started) * 1000))


def _record_success(message: OutboxMessage, result: DeliveryResult, *, validated, reply_handlers: list,
                    now: datetime | None, started: float) -> OutboxMessage:
    """Inside the delivery's transaction: reply handlers, then the inbox's answer (local adapter), the attempt
    and the delivered mark, all or nothing (the three writes one statement on PostgreSQL)."""
    for handler in reply_handlers:
        handler(validated, result.body or {})
    delivered_at = now or timezone.now()
    delivered = RowUpdate(OutboxMessage, message.pk, {
        "status": OutboxMessage.Status.DELIVERED, "delivered_at": delivered_at, "response": result.body,
        "leased_until": None, "last_error": ""}, where={"status": OutboxMessage.Status.PENDING})
    update_together(*filter(None, [result.inbox_done]),
                    _attempt_outcome(message, result, outcome=DeliveryAttempt.Outcome.SUCCESS, started=started),
                    delivered)
    _close_abandoned_attempts(message)
    transaction.on_commit(partial(_enqueue_next, message.aggregate_key, message.pk))
    metrics.attempts_counter(message.topic, "success").inc()
    metrics.delivery_seconds_of(message.topic).observe(max(0.0, (delivered_at - message.created_at).total_seconds()))
    message.status, message.delivered_at, message.response = OutboxMessage.Status.DELIVERED, delivered_at, result.body
    message.leased_until, message.last_error = None, ""
    return message


def _attempt_outcome(message: OutboxMessage, result: DeliveryResult, *, outcome: str, started: float,
                     error: str = "") -> RowUpdate:
    """The write that completes this attempt's record (for :func:`integration.db.update_together`)."""
    return RowUpdate(DeliveryAttempt, message.attempt_id, {
        "outcome": outcome, "transport": result.transport, "status_code": result.status_code,
        "duration_ms": _duration_ms(started), "response_excerpt": result.excerpt, "error": error})


def _close_abandoned_attempts(message: OutboxMessage) -> None:
    if message.attempts > 1:
        # An earlier attempt still "started" had its worker die mid-call: say so, once.
        DeliveryAttempt.objects.filter(message_id=message.pk, outcome=DeliveryAttempt.Outcome.STARTED).exclude(
            pk=message.attempt_id).update(outcome=DeliveryAttempt.Outcome.ERROR,
                                          error="no outcome recorded: the worker stopped during the attempt")


def _record_failure(message: OutboxMessage, result: DeliveryResult, *, now: datetime | None,
                    started: float) -> OutboxMessage:
    if result.status_code is None:
        outcome = DeliveryAttempt.Outcome.ERROR
    elif result.succeeded:
        outcome = DeliveryAttempt.Outcome.ERROR  # answered, but recording the answer failed
    elif is_permanent_failure(result.status_code):
        outcome = DeliveryAttempt.Outcome.PERMANENT_FAILURE
    else:
        outcome = DeliveryAttempt.Outcome.RETRY
    error = result.error or (f"HTTP {result.status_code}" if result.status_code else "no answer")
    dead = outcome == DeliveryAttempt.Outcome.PERMANENT_FAILURE or message.attempts >= settings.OUTBOX_MAX_ATTEMPTS
    changes: dict = {"leased_until": None, "last_error": error}
    if dead:
        changes["status"] = OutboxMessage.Status.DEAD
        changes["response"] = result.body if result.body is not None else (
            {"raw": result.excerpt} if result.excerpt else None)
    else:
        retry_after = result.retry_after_seconds if result.status_code in RETRY_AFTER_STATUSES else None
        changes["next_attempt_at"] = (now or timezone.now()) + retry_delay(
            attempt=message.attempts, retry_after_seconds=retry_after)
    with transaction.atomic():
        update_together(_attempt_outcome(message, result, outcome=outcome, started=started, error=error),
                        RowUpdate(OutboxMessage, message.pk, changes, where={"status": OutboxMessage.Status.PENDING}))
        _close_abandoned_attempts(message)
        if dead:
            # The aggregate's next message no longer waits behind this one.
            transaction.on_commit(partial(_enqueue_next, message.aggregate_key, message.pk))
    for field, value in changes.items():
        setattr(message, field, value)
    metrics.attempts_counter(message.topic, outcome).inc()
    log = logger.warning if dead else logger.info
    log("outbox delivery failed", topic=message.topic, attempt=message.attempts, dead=dead, error=error[:300])
    return message


def _enqueue_next(aggregate_key: str, after_id: int) -> None:
    """After the commit that settled message ``after_id``: the aggregate's next pending message, if any, is
    delivered now (its own enqueue found this one still pending). Read after the commit, so a message
    another sender committed meanwhile is found too. One hand-written SELECT: the ORM's query cost
    ~0.3 ms of CPU to build, on every delivery."""
    with connection.cursor() as cursor:
        cursor.execute(_next_pending_sql(connection.vendor), [aggregate_key, after_id])
        row = cursor.fetchone()
    if row is not None:
        _enqueue_delivery(OutboxMessage._meta.get_field("message_id").to_python(row[0]))


@lru_cache(maxsize=4)
def _next_pending_sql(vendor: str) -> str:
    meta, quote = OutboxMessage._meta, connection.ops.quote_name
    return (f"SELECT {quote(meta.get_field('message_id').column)} FROM {quote(meta.db_table)}"  # noqa: S608 (names from the model; values are parameters)
            f" WHERE {quote(meta.get_field('aggregate_key').column)} = %s AND {quote(meta.get_field('status').column)}"
            f" = '{OutboxMessage.Status.PENDING}' AND {quote(meta.pk.column)} > %s ORDER BY {quote(meta.pk.column)}"
            " LIMIT 1")


def _enqueue_delivery(message_id: uuid.UUID | str) -> None:
    from integration import tasks

    try:
        if tasks.outbox_deliver.app.conf.task_always_eager:
            # Tasks run in process (the embedded default): call the delivery itself, not Celery's eager apply.
            outbox_deliver(message_id=message_id)
        else:
            tasks.outbox_deliver.delay(message_id=str(message_id))
    except Exception:
        # The row is committed: the sweep delivers it even if the broker is down right now.
        logger.exception("outbox enqueue failed; the sweep will deliver", message_id=str(message_id))
