"""The signed webhook receivers (section 9.3): one view class, one subclass per topic.

Each request goes size check -> signature, timestamp, key and source headers ->
JSON (numbers as Decimal) -> the topic's contract -> the registered handler,
run once per ``X-Idempotency-Key`` by the inbox. A replay answers the stored
response with ``Idempotent-Replayed: true``.
"""

import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from integration import routes, signing
from integration.contracts import (
    ErrorSerializer,
    MalformedJsonError,
    parse_json,
    request_serializer,
    response_serializer,
)
from integration.parsers import MAX_JSON_DEPTH, json_depth
from integration.receiving import message_receive
from integration.registry import Delivery
from integration.transport import HTTP, current_request_id, sender_of

REPLAYED_HEADER = "Idempotent-Replayed"


class IdempotencyKeyMismatchError(signing.WebhookAuthenticationError):
    code = "idempotency_key_mismatch"
    default_message = (f"{signing.IDEMPOTENCY_KEY_HEADER} differs from the body's idempotencyKey; "
                       "the signed body's key is the message's key.")


_TOO_DEEP = object()


def _parse(body: bytes):
    """The body as JSON; nesting past ``MAX_JSON_DEPTH`` is malformed, never a RecursionError."""
    try:
        payload = parse_json(body)
    except RecursionError:
        payload = _TOO_DEEP
    if payload is _TOO_DEEP or json_depth(payload) > MAX_JSON_DEPTH:
        raise MalformedJsonError(details={"reason": f"nested more than {MAX_JSON_DEPTH} levels deep"})
    return payload


class WebhookView(APIView):
    """Receives one topic's signed webhooks; subclasses set ``topic``."""

    authentication_classes: list = []
    permission_classes: list = []
    # Throttling would turn a sender's burst of retries into more retries; the signature gates access.
    throttle_classes: list = []
    topic = ""

    def receive(self, request, **path_params) -> Response:
        route = routes.TOPICS[self.topic]
        verified = signing.verify_request(request, expected_source=sender_of(route))
        payload = _parse(verified.body)
        body_key = payload.get("idempotencyKey") if isinstance(payload, dict) else None
        if body_key is not None and str(body_key) != verified.idempotency_key:
            # The body's key is signed, the header is not: a captured body under a fresh header is a replay.
            raise IdempotencyKeyMismatchError(details={"header": signing.IDEMPOTENCY_KEY_HEADER})
        delivery = Delivery(
            idempotency_key=verified.idempotency_key,
            source_service=verified.source_service,
            request_id=getattr(request, "request_id", "") or current_request_id(),
            transport=HTTP,
            path_params={name: str(value) for name, value in path_params.items()},
        )
        result = message_receive(topic=self.topic, payload=payload, delivery=delivery)
        response = Response(result.body, status=result.status_code)
        if result.replayed:
            response[REPLAYED_HEADER] = "true"
        return response


_HEADER_PARAMETERS = [
    OpenApiParameter(signing.SIGNATURE_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
                     description="sha256=<hex HMAC-SHA256 of the raw body with a shared webhook secret>"),
    OpenApiParameter(signing.TIMESTAMP_HEADER, OpenApiTypes.INT, OpenApiParameter.HEADER, required=True,
                     description="Unix seconds; rejected when more than 5 minutes off"),
    OpenApiParameter(signing.IDEMPOTENCY_KEY_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
                     description="Unique per message; a repeat answers the stored response (kept 7 days)"),
    OpenApiParameter(signing.SOURCE_SERVICE_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
                     enum=list(signing.SOURCE_SERVICES), description="The sending service"),
]


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


def webhook_view(topic: str):
    """The view function for ``topic``'s webhook, documented with its contract."""
    route = routes.TOPICS[topic]

    def post(self, request, **path_params):
        return self.receive(request, **path_params)

    post = extend_schema(
        operation_id=f"webhook_{topic.replace('.', '_')}",
        summary=f"Receive {topic} ({route.receiver} side)",
        description="Signed webhook (spec 9.3). Idempotent by X-Idempotency-Key.",
        tags=["integration webhooks"],
        parameters=_HEADER_PARAMETERS,
        request=request_serializer(topic),
        responses={
            200: response_serializer(topic),
            400: _error("invalid_payload or malformed_json"),
            401: _error("missing_signature, invalid_signature, stale_timestamp, missing_idempotency_key, "
                        "invalid_source_service, idempotency_key_mismatch (the header differs from the body's "
                        "idempotencyKey)"),
            409: _error("in_progress: the same key is being processed; retry"),
            413: _error("payload_too_large"),
            422: _error("idempotency_key_reused, or the receiver rejected the message"),
            503: _error("receiver_unavailable: retry later"),
        },
    )(post)
    name = "".join(part.capitalize() for part in re.split(r"[._]", topic)) + "WebhookView"
    view_class = type(name, (WebhookView,), {"topic": topic, "post": post, "__doc__": f"Signed {topic} webhook."})
    return view_class.as_view()
