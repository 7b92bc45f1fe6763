"""Webhook signing and verification, ``000_…`` section 9.3.

Headers on every signed webhook::

    X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the raw body>
    X-Webhook-Timestamp: <unix seconds>        (within WEBHOOK_TOLERANCE_SECONDS either way)
    X-Idempotency-Key:   <key>                 (deduplicated by the inbox for INBOX_RETENTION_DAYS)
    X-Source-Service:    commerce | lms

The first of ``settings.WEBHOOK_SECRETS`` signs; every one of them verifies, so a
secret is rotated by putting the new one first and dropping the old one once
both sides run with the new list.
"""

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from integration.errors import ApplicationError, PayloadTooLargeError, ServiceMisconfigured

SIGNATURE_HEADER = "X-Webhook-Signature"
TIMESTAMP_HEADER = "X-Webhook-Timestamp"
IDEMPOTENCY_KEY_HEADER = "X-Idempotency-Key"
SOURCE_SERVICE_HEADER = "X-Source-Service"
SOURCE_SERVICES = ("commerce", "lms")

_SIGNATURE = re.compile(r"^sha256=([0-9a-fA-F]{64})$")
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:\-]{1,255}$")


class WebhookAuthenticationError(ApplicationError):
    status_code = 401
    code = "invalid_webhook"
    default_message = "The webhook could not be authenticated."


class MissingSignatureError(WebhookAuthenticationError):
    code = "missing_signature"
    default_message = f"{SIGNATURE_HEADER} is required."


class InvalidSignatureError(WebhookAuthenticationError):
    code = "invalid_signature"
    default_message = "The signature does not match the body."


class MissingTimestampError(WebhookAuthenticationError):
    code = "missing_timestamp"
    default_message = f"{TIMESTAMP_HEADER} is required."


class InvalidTimestampError(WebhookAuthenticationError):
    code = "invalid_timestamp"
    default_message = f"{TIMESTAMP_HEADER} must be an integer number of Unix seconds."


class StaleTimestampError(WebhookAuthenticationError):
    code = "stale_timestamp"
    default_message = "The timestamp is too far from the current time."


class MissingIdempotencyKeyError(WebhookAuthenticationError):
    code = "missing_idempotency_key"
    default_message = f"{IDEMPOTENCY_KEY_HEADER} is required (1-255 of A-Z a-z 0-9 . _ : -)."


class InvalidSourceServiceError(WebhookAuthenticationError):
    code = "invalid_source_service"
    default_message = f"{SOURCE_SERVICE_HEADER} must name the sending service."


class WebhookSecretMissing(ServiceMisconfigured):
    code = "webhook_secret_missing"
    default_message = "No webhook secret is configured."


@dataclass(frozen=True)
class VerifiedWebhook:
    body: bytes
    idempotency_key: str
    source_service: str
    timestamp: int


def sign_body(body: bytes, *, secret: str, timestamp: int | None = None) -> str:
    """The ``X-Webhook-Signature`` value for ``body``.

    ``timestamp`` does not enter the MAC: section 9.3 signs the raw body alone,
    and a sender built to the spec must verify here. Freshness is the timestamp
    header's own check, and a replay inside the window meets the inbox.
    """
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(body: bytes, *, idempotency_key: str, source_service: str,
                   now: datetime | None = None) -> dict[str, str]:
    """Every section 9.3 header for an outgoing webhook, signed with the first configured secret."""
    if source_service not in SOURCE_SERVICES:
        raise ValueError(f"source_service must be one of {SOURCE_SERVICES}")
    timestamp = int(now.timestamp()) if now is not None else int(time.time())
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign_body(body, secret=_secrets()[0], timestamp=timestamp),
        TIMESTAMP_HEADER: str(timestamp),
        IDEMPOTENCY_KEY_HEADER: idempotency_key,
        SOURCE_SERVICE_HEADER: source_service,
    }


def check_body_size(request) -> None:
    """413 before the body is read, from ``Content-Length``; raises ``PayloadTooLargeError``."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    try:
        length = int(declared)
    except ValueError:
        length = 0
    if length > settings.WEBHOOK_MAX_BODY_BYTES:
        raise PayloadTooLargeError(details={"maxBytes": settings.WEBHOOK_MAX_BODY_BYTES})


def verify_request(request, *, expected_source: str | None = None, now: float | None = None) -> VerifiedWebhook:
    """Checks a webhook request's size and section 9.3 headers; returns the raw body and its key.

    Raises :class:`PayloadTooLargeError` (413) or a :class:`WebhookAuthenticationError`
    (401). Nothing is written, so a rejected request changes nothing.
    ``expected_source`` pins ``X-Source-Service`` to the route's sending side.
    """
    http_request = getattr(request, "_request", request)
    check_body_size(http_request)
    body = http_request.body
    if len(body) > settings.WEBHOOK_MAX_BODY_BYTES:
        raise PayloadTooLargeError(details={"maxBytes": settings.WEBHOOK_MAX_BODY_BYTES})

    headers = http_request.headers
    supplied = headers.get(SIGNATURE_HEADER, "").strip()
    if not supplied:
        raise MissingSignatureError()
    raw_timestamp = headers.get(TIMESTAMP_HEADER, "").strip()
    if not raw_timestamp:
        raise MissingTimestampError()
    if not re.fullmatch(r"-?\d{1,12}", raw_timestamp):
        raise InvalidTimestampError()
    timestamp = int(raw_timestamp)
    current = time.time() if now is None else now
    tolerance = settings.WEBHOOK_TOLERANCE_SECONDS
    if abs(current - timestamp) > tolerance:
        raise StaleTimestampError(details={"toleranceSeconds": tolerance})

    match = _SIGNATURE.match(supplied)
    if not match or not _signature_matches(body, supplied):
        raise InvalidSignatureError()

    idempotency_key = headers.get(IDEMPOTENCY_KEY_HEADER, "").strip()
    if not _IDEMPOTENCY_KEY.match(idempotency_key):
        raise MissingIdempotencyKeyError()
    source_service = headers.get(SOURCE_SERVICE_HEADER, "").strip()
    if source_service not in SOURCE_SERVICES or (expected_source and source_service != expected_source):
        raise InvalidSourceServiceError(details={"expected": expected_source or list(SOURCE_SERVICES)})
    return VerifiedWebhook(body=body, idempotency_key=idempotency_key, source_service=source_service,
                           timestamp=timestamp)


def _signature_matches(body: bytes, supplied: str) -> bool:
    supplied_bytes = supplied.lower().encode()
    # Every secret is compared, match or not, so the timing says nothing about which one signed.
    results = [hmac.compare_digest(sign_body(body, secret=secret).encode(), supplied_bytes)
               for secret in _secrets()]
    return any(results)


def _secrets() -> list[str]:
    secrets = [secret for secret in settings.WEBHOOK_SECRETS if secret]
    if not secrets:
        raise WebhookSecretMissing()
    return secrets
