"""Running a received message's handler: the one path for the local adapter and the webhook views.

Both check the payload against the topic's contract, then run the registered
handler through the inbox under the message's idempotency key, so a message is
handled the same way whether it came in process or over HTTP.
"""

from datetime import datetime
from typing import Any

from integration import registry
from integration.contracts import body_sha256, validate_message
from integration.errors import ApplicationError
from integration.inbox import InboxResult, inbox_process


class ReceiverUnavailableError(ApplicationError):
    status_code = 503
    code = "receiver_unavailable"
    default_message = "No handler is registered for this message here yet; retry later."


def message_receive(*, topic: str, payload: Any, delivery: registry.Delivery, validated: dict | None = None,
                    in_transaction: bool = False, lease_expires_at: datetime | None = None,
                    now: datetime | None = None) -> InboxResult:
    """Validates ``payload`` (as parsed from the wire) and runs the topic's handler once per key.

    ``validated`` is the payload already checked by the caller (the outbox's local
    delivery checks it once); ``in_transaction`` and ``lease_expires_at`` are the
    inbox's (see :func:`integration.inbox.inbox_process`). Raises
    ``InvalidPayloadError`` (400), :class:`ReceiverUnavailableError` (503), the
    inbox's 409/422, or whatever the handler raises.
    """
    if validated is None:
        validated = validate_message(topic, payload)
    if not registry.has_handler(topic):
        raise ReceiverUnavailableError(details={"topic": topic})
    handler = registry.get_handler(topic)
    return inbox_process(
        idempotency_key=delivery.idempotency_key,
        topic=topic,
        body_sha256=body_sha256(payload),
        run=lambda: handler(validated, delivery=delivery) or {},
        in_transaction=in_transaction,
        lease_expires_at=lease_expires_at,
        now=now,
    )
