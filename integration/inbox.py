"""The inbox: each received idempotency key is processed once and answered the same way after.

A key is claimed by INSERTing its row (the unique constraint decides between
concurrent deliveries, never a read-then-write), and the claim is committed on
its own so other workers see it. The handler then runs, and the row is marked
done with its answer, in one transaction. A handler that fails releases the
claim, so the sender's retry runs it again; a worker that dies leaves a claim
whose lease expires, and the next delivery takes it over.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from integration import metrics
from integration.contracts import to_json_types
from integration.errors import ApplicationError
from integration.logging import get_logger
from integration.models import InboxEntry

logger = get_logger(__name__)

# A handler slower than this is presumed dead and its key may be taken over.
INBOX_LEASE_SECONDS = 300


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


def inbox_process(*, idempotency_key: str, topic: str, body_sha256: str, run: Callable[[], dict],
                  now: datetime | None = None) -> InboxResult:
    """Runs ``run`` once per ``idempotency_key`` and returns its answer, stored for replays.

    Raises :class:`IdempotencyKeyReusedError` (422) for the same key with another
    body and :class:`InboxInProgressError` (409) while another delivery of the key
    runs. Whatever ``run`` raises is re-raised after the claim is released.
    """
    now = now or timezone.now()
    lease_expires_at = now + timedelta(seconds=INBOX_LEASE_SECONDS)
    entry = _claim(idempotency_key=idempotency_key, topic=topic, body_sha256=body_sha256, now=now,
                   lease_expires_at=lease_expires_at)
    if entry is None:
        existing = InboxEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            # Released between our INSERT and this read: the caller's retry will claim it.
            raise InboxInProgressError()
        if existing.body_sha256 != body_sha256:
            raise IdempotencyKeyReusedError(details={"idempotencyKey": idempotency_key})
        if existing.state == InboxEntry.State.DONE:
            metrics.inbox_duplicates_total.labels(topic=topic).inc()
            return InboxResult(status_code=existing.status_code or 200, body=existing.response or {},
                               replayed=True)
        entry = _take_over_stale(existing, now=now, lease_expires_at=lease_expires_at)
        if entry is None:
            raise InboxInProgressError(details={"idempotencyKey": idempotency_key})

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


def _take_over_stale(entry: InboxEntry, *, now: datetime, lease_expires_at: datetime) -> InboxEntry | None:
    if entry.lease_expires_at > now:
        return None
    taken = InboxEntry.objects.filter(
        pk=entry.pk, state=InboxEntry.State.PROCESSING, lease_expires_at=entry.lease_expires_at,
    ).update(lease_expires_at=lease_expires_at)
    if not taken:
        return None
    logger.warning("inbox claim taken over after its lease expired",
                   idempotency_key=entry.idempotency_key, topic=entry.topic)
    entry.lease_expires_at = lease_expires_at
    return entry
