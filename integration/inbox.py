"""The inbox: each received idempotency key is processed once and answered the same way after.

A key is claimed by INSERTing its row (the unique constraint decides between
concurrent deliveries, never a read-then-write). On the webhook path the claim
is committed on its own so that a concurrent delivery of the key gets a quick
409; the handler then runs, and the row is marked done with its answer, in one
transaction. A handler that fails releases the claim, so the sender's retry
runs it again; a receiver that dies leaves a claim whose lease runs out when
the sender's outbox lease does (both last ``OUTBOX_LEASE_SECONDS``), so the
sender's next attempt takes it over at once instead of being told "in progress".

The local adapter holds the outbox lease and an open transaction already: there
the claim is written in that transaction, with the handler's writes and the
delivered mark, and commits or rolls back with them (``in_transaction``). A
worker killed inside the handler then leaves no claim at all. The claim is
written before the handler runs, so a second delivery of the key (the first
one's lease ran out) waits on it at the unique index and is then answered from
it; the answer is left to the caller to write with its own writes
(:attr:`InboxResult.done`), one statement on PostgreSQL.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from integration import metrics
from integration.contracts import encode_json, to_json_types
from integration.db import RowUpdate, insert_ignore
from integration.errors import ApplicationError
from integration.logging import get_logger
from integration.models import InboxEntry

logger = get_logger(__name__)

class IdempotencyKeyReusedError(ApplicationError):
    status_code = 422
    code = "idempotency_key_reused"
    default_message = "This idempotency key was already used for a different body."


class InboxInProgressError(ApplicationError):
    status_code = 409
    code = "in_progress"
    default_message = "A delivery with this idempotency key is being processed; retry later."


@dataclass(frozen=True)
class InboxResult:
    status_code: int
    body: dict
    replayed: bool
    # ``in_transaction`` only: the write that marks the claim done with ``body``, which the caller must
    # run in the same transaction (``integration.db.update_together``).
    done: RowUpdate | None = field(default=None, repr=False, compare=False)
    # A new answer's wire bytes (``encode_json(body)``), so the sender's excerpt does not encode it again.
    encoded: bytes | None = field(default=None, repr=False, compare=False)


def inbox_process(*, idempotency_key: str, topic: str, body_sha256: str, run: Callable[[], dict],
                  now: datetime | None = None, in_transaction: bool = False,
                  lease_expires_at: datetime | None = None) -> InboxResult:
    """Runs ``run`` once per ``idempotency_key`` and returns its answer, stored for replays.

    Raises :class:`IdempotencyKeyReusedError` (422) for the same key with another
    body and :class:`InboxInProgressError` (409) while another delivery of the key
    runs. Whatever ``run`` raises is re-raised after the claim is released.
    ``in_transaction``: the caller holds an open transaction and the message's
    outbox lease (until ``lease_expires_at``); the claim is written in it and
    shares its fate, an exception leaves the caller to roll back, and the
    result's ``done`` is the write that the caller runs before it commits.
    """
    now = now or timezone.now()
    lease_expires_at = lease_expires_at or now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    if in_transaction:
        return _process_in_transaction(idempotency_key=idempotency_key, topic=topic, body_sha256=body_sha256,
                                       run=run, now=now, lease_expires_at=lease_expires_at)
    entry = _claim(idempotency_key=idempotency_key, topic=topic, body_sha256=body_sha256, now=now,
                   lease_expires_at=lease_expires_at)
    if entry is None:
        existing = InboxEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            # Released between our INSERT and this read: the caller's retry will claim it.
            raise InboxInProgressError()
        answered = _stored_answer(existing, topic=topic, body_sha256=body_sha256)
        if answered is not None:
            return answered
        entry = _take_over_stale(existing, now=now, lease_expires_at=lease_expires_at)

    try:
        with transaction.atomic():
            body = to_json_types(run())
            claimed = InboxEntry.objects.filter(
                pk=entry.pk, state=InboxEntry.State.PROCESSING, lease_expires_at=entry.lease_expires_at,
            ).update(state=InboxEntry.State.DONE, response=body, status_code=200, completed_at=timezone.now())
            if not claimed:
                # Our lease ran out and another delivery took the key over; its answer is the one kept.
                raise InboxInProgressError(details={"idempotencyKey": idempotency_key})
    except BaseException:
        InboxEntry.objects.filter(pk=entry.pk, state=InboxEntry.State.PROCESSING,
                                  lease_expires_at=entry.lease_expires_at).delete()
        raise
    return InboxResult(status_code=200, body=body, replayed=False)


def inbox_purge(*, now: datetime | None = None) -> int:
    """Deletes keys older than ``INBOX_RETENTION_DAYS``; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.INBOX_RETENTION_DAYS)
    deleted, _ = InboxEntry.objects.filter(created_at__lt=cutoff).delete()
    if deleted:
        logger.info("inbox purged", deleted=deleted)
    return deleted


def _claim(*, idempotency_key: str, topic: str, body_sha256: str, now: datetime,
           lease_expires_at: datetime) -> InboxEntry | None:
    try:
        with transaction.atomic():
            return InboxEntry.objects.create(
                idempotency_key=idempotency_key, topic=topic, body_sha256=body_sha256,
                state=InboxEntry.State.PROCESSING, created_at=now, lease_expires_at=lease_expires_at)
    except IntegrityError:
        return None


def _take_over_stale(entry: InboxEntry, *, now: datetime, lease_expires_at: datetime) -> InboxEntry:
    """The claim of a delivery whose lease ran out (its worker died), or 409 while it still runs."""
    if entry.lease_expires_at > now:
        raise InboxInProgressError(details={"idempotencyKey": entry.idempotency_key})
    taken = InboxEntry.objects.filter(
        pk=entry.pk, state=InboxEntry.State.PROCESSING, lease_expires_at=entry.lease_expires_at,
    ).update(lease_expires_at=lease_expires_at)
    if not taken:
        raise InboxInProgressError(details={"idempotencyKey": entry.idempotency_key})
    logger.warning("inbox claim taken over after its lease expired",
                   idempotency_key=entry.idempotency_key, topic=entry.topic)
    entry.lease_expires_at = lease_expires_at
    return entry


def _stored_answer(entry: InboxEntry, *, topic: str, body_sha256: str) -> InboxResult | None:
    """The answer kept for a key already done (a replay); 422 for another body; None while it is processing."""
    if entry.body_sha256 != body_sha256:
        raise IdempotencyKeyReusedError(details={"idempotencyKey": entry.idempotency_key})
    if entry.state != InboxEntry.State.DONE:
        return None
    metrics.inbox_duplicates_total.labels(topic=topic).inc()
    return InboxResult(status_code=entry.status_code or 200, body=entry.response or {}, replayed=True)


def _process_in_transaction(*, idempotency_key: str, topic: str, body_sha256: str, run: Callable[[], dict],
                            now: datetime, lease_expires_at: datetime) -> InboxResult:
    entry_id = _insert_claim(idempotency_key=idempotency_key, topic=topic, body_sha256=body_sha256, now=now,
                             lease_expires_at=lease_expires_at)
    if entry_id is None:
        existing = InboxEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise InboxInProgressError(details={"idempotencyKey": idempotency_key})
        answered = _stored_answer(existing, topic=topic, body_sha256=body_sha256)
        if answered is not None:
            return answered
        entry_id = _take_over_stale(existing, now=now, lease_expires_at=lease_expires_at).pk
    encoded = encode_json(run())
    body = json.loads(encoded)  # the answer as it looks after a trip over the wire (to_json_types), from bytes kept
    done = {"state": InboxEntry.State.DONE, "response": body, "status_code": 200, "completed_at": timezone.now()}
    return InboxResult(status_code=200, body=body, replayed=False, done=RowUpdate(InboxEntry, entry_id, done),
                       encoded=encoded)


def _insert_claim(*, idempotency_key: str, topic: str, body_sha256: str, now: datetime,
                  lease_expires_at: datetime) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING: the claim's id, or None when the key exists (no savepoint needed)."""
    written = insert_ignore(InboxEntry, [{
        "idempotency_key": idempotency_key, "topic": topic, "body_sha256": body_sha256,
        "state": InboxEntry.State.PROCESSING, "created_at": now, "lease_expires_at": lease_expires_at,
    }], conflict=["idempotency_key"])
    return written[0][0] if written else None
