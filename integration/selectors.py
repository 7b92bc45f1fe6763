"""Reads of the integration app's own tables (outbox listings for the admin and the command)."""

import uuid

from django.db.models import Count, QuerySet

from integration.errors import NotFoundError
from integration.models import OutboxMessage


def outbox_message_list(*, status: str) -> QuerySet[OutboxMessage]:
    """Messages in ``status``, oldest first (the order they are delivered in)."""
    return OutboxMessage.objects.filter(status=status).order_by("id")


def outbox_dead_letter_ids() -> list[uuid.UUID]:
    return list(outbox_message_list(status=OutboxMessage.Status.DEAD).values_list("message_id", flat=True))


def outbox_counts() -> dict[str, int]:
    """How many messages are in each status, in one query."""
    counts = dict.fromkeys(OutboxMessage.Status.values, 0)
    rows = OutboxMessage.objects.values("status").annotate(n=Count("id")).order_by()
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def outbox_message_get(*, ref: str) -> OutboxMessage:
    """A message by its sequence number or its ``message_id`` UUID."""
    ref = ref.strip()
    lookup: dict
    if ref.isdigit():
        lookup = {"id": int(ref)}
    else:
        try:
            lookup = {"message_id": uuid.UUID(ref)}
        except ValueError:
            raise NotFoundError(f"No outbox message {ref!r}.") from None
    message = OutboxMessage.objects.filter(**lookup).first()
    if message is None:
        raise NotFoundError(f"No outbox message {ref!r}.")
    return message
