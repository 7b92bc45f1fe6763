"""Request id on every request and log line, one log line per request; JSON (never HTML) errors on API paths."""

import json
import logging
import re
import time
import uuid
from urllib.parse import urlsplit

import structlog
from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.functional import SimpleLazyObject, empty

from integration.errors import (
    RETRY_AFTER_HEADER,
    MalformedRequestError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    ServerError,
    as_application_error,
    error_response,
    retry_after_seconds,
)
from integration.logging import get_logger

logger = logging.getLogger(__name__)
request_logger = get_logger("integration.requests")

REQUEST_ID_HEADER = "X-Request-Id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
API_PREFIXES = ("/api/",)


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


class HealthzMiddleware:
    """Answers ``GET /healthz`` before any other middleware runs: the liveness probe costs next to nothing.

    It touches no session, database, template or log (a probe every few seconds
    would bury the request log), and still echoes or makes the request id.
    """

    BODY = b'{"status":"ok"}'

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != "/healthz" or request.method not in {"GET", "HEAD"}:
            return self.get_response(request)
        response = HttpResponse(self.BODY, content_type="application/json")
        response["Cache-Control"] = "max-age=0, no-cache, no-store, must-revalidate, private"
        response["X-Content-Type-Options"] = "nosniff"
        response[REQUEST_ID_HEADER] = _request_id(request)
        return response


class RequestIdMiddleware:
    """Takes a caller's X-Request-Id if well-formed (so it travels across services), else makes one;
    binds it to every log line of the request and writes the request's one log line at its end."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        request_id = _request_id(request)
        request.request_id = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            request_logger.info("request", method=request.method, path=loggable_path(request),
                                status=response.status_code, duration_ms=round((time.perf_counter() - started) * 1000, 1),
                                user_id=_user_id(request))
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
        return response


# URL keyword arguments that carry a secret (allauth's password-reset and email-confirmation keys, a
# dj-rest-auth reset token): the log line names the route, never the secret (a key in a log is a reset).
SECRET_URL_KWARGS = frozenset({"key", "token", "uidb36", "uidb64"})


def loggable_path(request) -> str:
    """``request.path`` with the values of the resolved URL's secret keyword arguments replaced by ``[redacted]``."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    for name, value in (match.kwargs.items() if match is not None else ()):
        if name in SECRET_URL_KWARGS and isinstance(value, str) and value:
            path = path.replace(value, "[redacted]")
    return path


def _request_id(request) -> str:
    incoming = request.META.get("HTTP_X_REQUEST_ID", "")
    return incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex


def _user_id(request) -> str | None:
    """The signed-in user's id if the request already looked it up; never a lookup for the log's sake."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = user.__dict__.get("_wrapped", empty)
        if user is empty:
            return None
    pk = getattr(user, "pk", None)
    return str(pk) if pk is not None else None


NUL_IN_URL_MESSAGE = "The URL holds a NUL character (%00), which no id or filter can contain."


def has_nul_in_url(request) -> bool:
    """A NUL in the path or the query string: PostgreSQL stores it in no text column, so a lookup or a filter
    with it raised DataError (a 500) wherever a view passed a path or query value to the database."""
    return "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", "")


class ApiErrorMiddleware:
    """Errors raised outside DRF on API paths (unknown URL, crash) answer JSON, never a debug page.

    A URL holding a NUL is refused before any view: 400 ``malformed_request`` on API paths, the
    site's 400 page elsewhere."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if has_nul_in_url(request):
            if is_api_path(request.path):
                return error_response(MalformedRequestError, message=NUL_IN_URL_MESSAGE)
            raise BadRequest(NUL_IN_URL_MESSAGE)
        response = self.get_response(request)
        if is_api_path(request.path) and response.status_code in {404, 405} and not _is_json(response):
            return error_response(NotFoundError if response.status_code == 404 else MethodNotAllowedError)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, RequestDataTooBig):
            return too_large_response(request)
        if not is_api_path(request.path):
            return None
        error = as_application_error(exception)
        if error is not None:  # Django's Http404, PermissionDenied, ValidationError raised in a plain view
            return error_response(error)
        logger.exception("unhandled API error", extra={"path": request.path})
        if settings.DEBUG:
            return None
        return error_response(ServerError)


def _is_json(response) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


# --- Bad input and security headers (issue 8, items 15 and 16) ------------------------------

def max_body_bytes(request) -> int:
    """Form and JSON bodies: DATA_UPLOAD_MAX_MEMORY_SIZE; multipart (file uploads): REQUEST_MAX_BODY_BYTES."""
    if request.META.get("CONTENT_TYPE", "").startswith("multipart/"):
        return settings.REQUEST_MAX_BODY_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def too_large_response(request) -> HttpResponse:
    limit = max_body_bytes(request)
    if is_api_path(request.path):
        return error_response(PayloadTooLargeError, details={"maxBytes": limit})
    return render(request, "error.html", {"status": 413, "message": "That was more than this site accepts."},
                  status=413)


class BodySizeLimitMiddleware:
    """413 for a body over the limit before anything reads it (CSRF, a form, DRF's parsers), on every path.

    The declared ``Content-Length`` decides; a body without one (chunked) is read only up to
    the limit by Django's ``request.body`` and a bigger one raises ``RequestDataTooBig``,
    which :class:`ApiErrorMiddleware` and the DRF handler answer with the same 413.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > max_body_bytes(request):
            return too_large_response(request)
        return self.get_response(request)


def content_security_policy() -> str:
    """Scripts only from our own static files (no inline script, no ``on*=`` attribute, no eval).

    Forms may post to the other side (the SSO handoff in split mode); Stripe's script and
    frames are the one outside origin, for card payments.
    """
    sides = sorted({_origin(settings.COMMERCE_BASE_URL), _origin(settings.LMS_BASE_URL)} - {""})
    stripe = "https://js.stripe.com"
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", stripe],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'", "https://api.stripe.com"],
        "frame-src": [stripe, "https://hooks.stripe.com"],
        "form-action": ["'self'", *sides],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


PERMISSIONS_POLICY = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
                      "microphone=(), usb=(), payment=(self \"https://js.stripe.com\")")


def _origin(url: str) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy on every response; ``Retry-After`` on every 429."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = content_security_policy()

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", self.policy)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if response.status_code == 429 and RETRY_AFTER_HEADER not in response:
            response[RETRY_AFTER_HEADER] = str(_retry_after_of(response))
        return response


def _retry_after_of(response) -> int:
    """The wait a 429's JSON body names (``details.retryAfterSeconds``), else a minute."""
    if _is_json(response) and not getattr(response, "streaming", False):
        try:
            details = json.loads(response.content).get("error", {}).get("details", {})
            return retry_after_seconds(details, default=60)
        except (ValueError, AttributeError):
            pass
    return 60
