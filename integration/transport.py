"""The two adapters a message or call travels by: local (same process) or HTTP (the other service).

Which one is decided per route: a receiver this deployment serves
(``SERVES_COMMERCE`` / ``SERVES_LMS``) is called in process, any other over
HTTP at ``COMMERCE_BASE_URL`` / ``LMS_BASE_URL``. ``INTEGRATION_FORCE_HTTP``
sends everything over HTTP, which lets a monolith (or a test) exercise the
split deployment's wire path against itself.

Both adapters report the same way, as a :class:`DeliveryResult` with an HTTP
status: a handler's ``ApplicationError`` locally becomes exactly the status and
error body the webhook view would have answered.
"""

import string
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote

import requests
import structlog
from django.conf import settings
from django.utils import timezone

from integration import routes
from integration.contracts import MalformedJsonError, encode_json, parse_json
from integration.db import RowUpdate
from integration.errors import ApplicationError
from integration.logging import get_logger
from integration.registry import Delivery
from integration.signing import signed_headers

logger = get_logger(__name__)

LOCAL = "local"
HTTP = "http"
EXCERPT_CHARS = 1024


@dataclass(frozen=True)
class DeliveryResult:
    transport: str
    status_code: int | None  # None: no answer at all (connection refused, timeout, crash)
    body: dict | None = None
    error: str = ""
    retry_after_seconds: float | None = None
    excerpt: str = ""
    # Local adapter in the caller's transaction: the inbox's done mark, for the caller to write before commit.
    inbox_done: RowUpdate | None = field(default=None, repr=False, compare=False)

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


deployment_serves = routes.serves


def route_is_local(route: routes.Route) -> bool:
    return routes.calls_in_process(route.receiver)


def sender_of(route: routes.Route) -> str:
    """The service that sends on ``route``: the side that does not receive it (X-Source-Service)."""
    return routes.LMS if route.receiver == routes.COMMERCE else routes.COMMERCE


def path_fields(route: routes.Route) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(route.path) if name]


def split_path_params(route: routes.Route, payload: dict) -> tuple[dict[str, str], dict]:
    """``payload`` divided into the route's {name} path parameters and the body that remains."""
    names = path_fields(route)
    return ({name: str(payload[name]) for name in names},
            {key: value for key, value in payload.items() if key not in names})


def current_request_id() -> str:
    return structlog.contextvars.get_contextvars().get("request_id") or uuid.uuid4().hex


def deliver_message(*, topic: str, payload: dict, idempotency_key: str, request_id: str,
                    validated: dict | None = None, in_transaction: bool = False,
                    lease_expires_at: datetime | None = None, now: datetime | None = None) -> DeliveryResult:
    """Delivers one outbox message by the route's adapter; never raises for the receiver's answer.

    The local adapter takes the outbox's ``validated`` payload (checked once per
    delivery) and, with ``in_transaction``, runs the handler and writes its
    inbox row in the caller's open transaction, under the outbox lease that
    ends at ``lease_expires_at``; the result's ``inbox_done`` is then the inbox's
    write that the caller runs before it commits.
    """
    route = routes.TOPICS[topic]
    if route_is_local(route):
        return _deliver_local(route, payload=payload, idempotency_key=idempotency_key, request_id=request_id,
                              validated=validated, in_transaction=in_transaction,
                              lease_expires_at=lease_expires_at, now=now)
    return _deliver_http(route, payload=payload, idempotency_key=idempotency_key, request_id=request_id)


def _deliver_local(route: routes.Route, *, payload: dict, idempotency_key: str, request_id: str,
                   validated: dict | None = None, in_transaction: bool = False,
                   lease_expires_at: datetime | None = None, now: datetime | None = None) -> DeliveryResult:
    from integration.receiving import message_receive

    path_params, _ = split_path_params(route, payload)
    delivery = Delivery(idempotency_key=idempotency_key, source_service=sender_of(route),
                        request_id=request_id, transport=LOCAL, path_params=path_params)
    try:
        result = message_receive(topic=route.name, payload=payload, delivery=delivery, validated=validated,
                                 in_transaction=in_transaction, lease_expires_at=lease_expires_at, now=now)
    except ApplicationError as exc:
        body = exc.as_body()
        return DeliveryResult(transport=LOCAL, status_code=exc.status_code, body=body,
                              error=f"{exc.code}: {exc.message}", excerpt=_excerpt(encode_json(body)))
    except Exception as exc:
        logger.exception("local handler crashed", topic=route.name, idempotency_key=idempotency_key)
        return DeliveryResult(transport=LOCAL, status_code=None, error=f"{exc.__class__.__name__}: {exc}")
    return DeliveryResult(transport=LOCAL, status_code=result.status_code, body=result.body,
                          excerpt=_excerpt(result.encoded if result.encoded is not None else encode_json(result.body)),
                          inbox_done=result.done)


def _deliver_http(route: routes.Route, *, payload: dict, idempotency_key: str, request_id: str) -> DeliveryResult:
    path_params, body_fields = split_path_params(route, payload)
    body = encode_json(body_fields)
    headers = {"Content-Type": "application/json", "Accept": "application/json",
               "X-Request-Id": request_id, "X-Idempotency-Key": idempotency_key}
    try:
        if route.auth == routes.SIGNED:
            headers.update(signed_headers(body, idempotency_key=idempotency_key, source_service=sender_of(route)))
        else:
            headers["Authorization"] = f"Bearer {_service_token(route)}"
        response = requests.request(route.method, _url(route, path_params), data=body, headers=headers,
                                    timeout=settings.OUTBOX_HTTP_TIMEOUT_SECONDS, allow_redirects=False)
    except Exception as exc:
        return DeliveryResult(transport=HTTP, status_code=None, error=f"{exc.__class__.__name__}: {exc}")
    answer = _json_body(response)
    error = "" if 200 <= response.status_code < 300 else _error_summary(response.status_code, answer)
    return DeliveryResult(
        transport=HTTP, status_code=response.status_code, body=answer, error=error,
        retry_after_seconds=parse_retry_after(response.headers.get("Retry-After")),
        excerpt=_excerpt(response.content))


def http_call(route: routes.Route, *, body: dict | None = None, params: dict | None = None,
              headers: dict | None = None, path_params: dict[str, str] | None = None) -> tuple[int, dict]:
    """One synchronous call to the other service with a service token: ``(status, JSON answer)``.

    GET sends ``params`` as the query string; other methods send ``body`` as JSON.
    With no answer at all, requests' ``ConnectionError``/``Timeout`` (``OSError``s)
    propagate for the port to turn into its own "unavailable" error.
    """
    request_headers = {"Accept": "application/json", "X-Request-Id": current_request_id(), **(headers or {})}
    if route.auth == routes.SERVICE_TOKEN:
        request_headers["Authorization"] = f"Bearer {_service_token(route)}"
    data = None
    if route.method != "GET" and body is not None:
        data = encode_json(body)
        request_headers["Content-Type"] = "application/json"
    response = requests.request(route.method, _url(route, path_params or {}), params=params, data=data,
                                headers=request_headers,
                                timeout=settings.OUTBOX_HTTP_TIMEOUT_SECONDS, allow_redirects=False)
    return response.status_code, _json_body(response) or {}


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds, from either of its forms (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - (now or timezone.now())).total_seconds())


def _service_token(route: routes.Route) -> str:
    # Imported here: identity's half of service authentication registers itself at start-up.
    from integration.service_auth import outgoing_service_token

    return outgoing_service_token(scope=route.scope)


def _url(route: routes.Route, path_params: dict[str, str]) -> str:
    path = route.path.format(**{name: quote(value, safe="") for name, value in path_params.items()})
    return routes.base_url(route.receiver) + path


def _json_body(response: requests.Response) -> dict | None:
    if not response.content:
        return None
    try:
        answer = parse_json(response.content)
    except MalformedJsonError:
        return None
    return answer if isinstance(answer, dict) else {"value": answer}


def _error_summary(status_code: int, answer: dict | None) -> str:
    error = (answer or {}).get("error")
    if isinstance(error, dict):
        return f"HTTP {status_code} {error.get('code', '')}: {error.get('message', '')}".strip()
    return f"HTTP {status_code}"


def _excerpt(content: bytes) -> str:
    return content[:EXCERPT_CHARS * 4].decode("utf-8", errors="replace")[:EXCERPT_CHARS]
