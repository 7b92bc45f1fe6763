"""The error catalogue: one class per error code, and the one place that turns errors into JSON.

Every error body is ``{"error": {"code", "message", "details"}}`` with a 4xx/5xx status.

Each code is declared exactly once, as a subclass of :class:`ApplicationError` with the
class attributes ``code``, ``status_code`` and ``default_message``; a raise site names the
class (``raise UserNotFound(details={...})``) and never spells a code or a status. Every
subclass that declares a ``code`` registers itself in :data:`CATALOGUE` when its module is
imported; :func:`catalogue_problems` reports a code declared twice or a class whose status
differs from the one its code was declared with, and ``tests/test_errors_catalogue.py``
fails on either. The only error whose code and status come from outside is
:class:`RemoteServiceError`, a port relaying the other service's answer.

:func:`api_exception_handler` (DRF's ``EXCEPTION_HANDLER``) maps DRF's exceptions and
Django's ``ValidationError``, ``PermissionDenied`` and ``Http404`` onto catalogue classes;
``integration.middleware.ApiErrorMiddleware`` and ``config.views`` do the same for the
paths DRF does not serve.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

RETRY_AFTER_HEADER = "Retry-After"
# The spec (000_… 6.1.1) fixes these upper-case codes; every other code is snake_case.
SPEC_FIXED_CODES = frozenset({"INVALID_TOKEN", "EXPIRED_TOKEN", "REVOKED_TOKEN"})


@dataclass(frozen=True)
class CatalogueEntry:
    code: str
    status_code: int
    error_class: type["ApplicationError"]

    @property
    def where(self) -> str:
        return f"{self.error_class.__module__}.{self.error_class.__qualname__}"


# Every declaration in import order, duplicates included, so a test can name both sides of a clash.
_DECLARATIONS: list[CatalogueEntry] = []
CATALOGUE: dict[str, CatalogueEntry] = {}


class ApplicationError(Exception):
    """The base of every application error; also the catalogue's generic ``bad_request``."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    default_message: ClassVar[str] = "The request could not be processed."

    def __init__(self, message: str | None = None, *, details: Mapping[str, Any] | None = None):
        self.message = str(message) if message else self.default_message
        self.details = dict(details or {})
        super().__init__(self.message)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _register(cls)

    def as_body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)

    @property
    def headers(self) -> dict[str, str]:
        """Response headers this error asks for (``Retry-After`` on a 429)."""
        if self.status_code == 429:
            return {RETRY_AFTER_HEADER: str(retry_after_seconds(self.details))}
        return {}


def _register(cls: type[ApplicationError]) -> None:
    if "code" in cls.__dict__ or "status_code" in cls.__dict__:
        entry = CatalogueEntry(code=cls.code, status_code=cls.status_code, error_class=cls)
        # A module imported twice (under two names, or reloaded) declares the same class again: replace it.
        _DECLARATIONS[:] = [known for known in _DECLARATIONS if known.where != entry.where]
        _DECLARATIONS.append(entry)
        first = CATALOGUE.get(cls.code)
        if first is None or first.where == entry.where:
            CATALOGUE[cls.code] = entry


_register(ApplicationError)


def catalogue_entries(*, include_tests: bool = False) -> list[CatalogueEntry]:
    """Every declared code (first declaration wins), sorted by code."""
    return sorted((entry for entry in CATALOGUE.values()
                   if include_tests or not entry.error_class.__module__.startswith("tests.")),
                  key=lambda entry: entry.code)


def catalogue_problems() -> list[str]:
    """A code declared by two classes, a class whose status differs from its code's, a badly cased code."""
    problems = []
    for entry in _DECLARATIONS:
        first = CATALOGUE[entry.code]
        if first.error_class is not entry.error_class:
            if first.status_code != entry.status_code:
                problems.append(f"{entry.where} reuses code {entry.code!r} of {first.where} with status "
                                f"{entry.status_code} (declared {first.status_code})")
            else:
                problems.append(f"{entry.where} declares code {entry.code!r} again (first in {first.where})")
        if entry.code not in SPEC_FIXED_CODES and not _is_snake_case(entry.code):
            problems.append(f"{entry.where}: code {entry.code!r} is not snake_case")
    return problems


def _is_snake_case(code: str) -> bool:
    return bool(code) and code == code.lower() and code.replace("_", "").isalnum() and code[0].isalpha()


def error_for_code(code: str) -> type[ApplicationError] | None:
    entry = CATALOGUE.get(code)
    return entry.error_class if entry else None


def retry_after_seconds(details: Mapping[str, Any] | None, default: int = 1) -> int:
    try:
        return max(1, int((details or {}).get("retryAfterSeconds", default)))
    except (TypeError, ValueError):
        return default


# --- The generic classes every app subclasses, and the framework's own errors --------------


class NotFoundError(ApplicationError):
    status_code = 404
    code = "not_found"
    default_message = "Not found."


class ConflictError(ApplicationError):
    status_code = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


class ForbiddenError(ApplicationError):
    status_code = 403
    code = "permission_denied"
    default_message = "You do not have permission to perform this action."


class UnprocessableError(ApplicationError):
    status_code = 422
    code = "unprocessable"
    default_message = "The request is well-formed but cannot be processed."


class ValidationFailedError(ApplicationError):
    status_code = 400
    code = "validation_error"
    default_message = "Some fields are invalid."


class MissingHeaderError(ApplicationError):
    status_code = 400
    code = "missing_header"
    default_message = "A required request header is missing or not valid."


class MalformedRequestError(ApplicationError):
    status_code = 400
    code = "malformed_request"
    default_message = "The request body could not be parsed."


class AuthenticationFailedError(ApplicationError):
    status_code = 401
    code = "authentication_failed"
    default_message = "Incorrect authentication credentials."


class NotAuthenticatedError(ApplicationError):
    status_code = 401
    code = "not_authenticated"
    default_message = "Authentication credentials were not provided."


class MethodNotAllowedError(ApplicationError):
    status_code = 405
    code = "method_not_allowed"
    default_message = "Method not allowed."


class NotAcceptableError(ApplicationError):
    status_code = 406
    code = "not_acceptable"
    default_message = "The requested response format is not available."


class PayloadTooLargeError(ApplicationError):
    status_code = 413
    code = "payload_too_large"
    default_message = "The body is larger than this endpoint accepts."


class UnsupportedMediaTypeError(ApplicationError):
    status_code = 415
    code = "unsupported_media_type"
    default_message = "Unsupported media type in the request."


class ThrottledError(ApplicationError):
    status_code = 429
    code = "throttled"
    default_message = "Too many requests; try again later."


class ServerError(ApplicationError):
    status_code = 500
    code = "server_error"
    default_message = "An unexpected error occurred."


class ServiceMisconfigured(ApplicationError):
    status_code = 500
    code = "service_misconfigured"
    default_message = "This deployment is missing a setting it needs."


class ReconcileDifferencesError(ApplicationError):
    """``manage.py reconcile enrollments`` left differences it could not fix (``integration/reconcile.py``)."""

    status_code = 500
    code = "reconcile_differences"
    default_message = "Commerce's paid order lines and the LMS's enrollments still differ."


# --- Shared by the two login forms (the store's and the legacy LMS's): one answer for both ---


class InvalidCredentials(ApplicationError):
    status_code = 400
    code = "invalid_credentials"
    default_message = "The email address or password is incorrect."


class LoginLocked(ApplicationError):
    status_code = 429
    code = "too_many_login_attempts"
    default_message = "Too many failed sign-in attempts."

    @classmethod
    def after(cls, wait_seconds: int) -> "LoginLocked":
        """The lockout answer for a wait of ``wait_seconds``, worded the same on every login form."""
        wait_seconds = max(1, int(wait_seconds))
        wait = f"{wait_seconds} seconds" if wait_seconds < 90 else f"{math.ceil(wait_seconds / 60)} minutes"
        return cls(f"{cls.default_message} Try again in {wait}.", details={"retryAfterSeconds": wait_seconds})


class RemoteServiceError(ApplicationError):
    """The other service refused a port call: its code and status relayed as they came.

    The one error whose code and status are not fixed by its class: a port
    (``integration/ports``) builds it with :meth:`relay` from what the remote side
    answered, so a caller sees the remote error unchanged. The class's own code is the
    catalogue's entry for a refusal that named no code.
    """

    status_code = 502
    code = "port_call_refused"
    default_message = "The other service refused the call."

    @classmethod
    def relay(cls, *, code: str | None, status_code: int, message: str | None = None,
              details: Mapping[str, Any] | None = None) -> "RemoteServiceError":
        error = cls(message, details=details)
        # Instance attributes: the class keeps its own catalogue code and status.
        error.code = code or cls.code
        error.status_code = status_code if 400 <= status_code <= 599 else cls.status_code
        return error


# --- Turning errors into responses ---------------------------------------------------------


def error_body(code: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": dict(details or {})}}


def error_response(error: ApplicationError | type[ApplicationError], *, message: str | None = None,
                   details: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
                   ) -> JsonResponse:
    """The JSON error response for a catalogue error (an instance, or a class with this message)."""
    if isinstance(error, type):
        error = error(message, details=details)
    response = JsonResponse(error.as_body(), status=error.status_code)
    for key, value in {**error.headers, **(headers or {})}.items():
        response[key] = value
    return response


_DRF_ERRORS: tuple[tuple[type[drf.APIException], type[ApplicationError]], ...] = (
    (drf.ParseError, MalformedRequestError),
    (drf.AuthenticationFailed, AuthenticationFailedError),
    (drf.NotAuthenticated, NotAuthenticatedError),
    (drf.PermissionDenied, ForbiddenError),
    (drf.NotFound, NotFoundError),
    (drf.MethodNotAllowed, MethodNotAllowedError),
    (drf.NotAcceptable, NotAcceptableError),
    (drf.UnsupportedMediaType, UnsupportedMediaTypeError),
    (drf.Throttled, ThrottledError),
    (drf.ValidationError, ValidationFailedError),
)


# The catalogue entry a framework exception of that status answers when nothing names a better one
# (503 is integration.ports' PortUnavailable, looked up when needed).
_GENERIC_CODES = ("bad_request", "authentication_failed", "permission_denied", "not_found", "method_not_allowed",
                  "not_acceptable", "conflict", "payload_too_large", "unsupported_media_type", "unprocessable",
                  "throttled", "server_error", "service_unavailable")


def plain_message(detail: Any) -> str:
    """A detail as a person reads it: the first message of a dict or list, never a Python repr."""
    if isinstance(detail, Mapping):
        if "detail" in detail:
            return plain_message(detail["detail"])
        for value in detail.values():
            return plain_message(value)
        return ""
    if isinstance(detail, list | tuple):
        return plain_message(detail[0]) if detail else ""
    return str(detail)


def authentication_failed(error: ApplicationError) -> drf.AuthenticationFailed:
    """What a DRF authentication class raises for a catalogue error.

    DRF only marks the request unauthenticated for its own exceptions, so the error travels
    inside one; the handler answers the catalogue error's own code and status.
    """
    failed = drf.AuthenticationFailed(error.message)
    failed.application_error = error
    return failed


def as_application_error(exc: Exception) -> ApplicationError | None:
    """The catalogue error for a framework exception (DRF's, or Django's three); None if unknown."""
    if isinstance(exc, ApplicationError):
        return exc
    carried = getattr(exc, "application_error", None)
    if isinstance(carried, ApplicationError):
        return carried
    if isinstance(exc, Http404):
        return NotFoundError()
    if isinstance(exc, DjangoPermissionDenied):
        return ForbiddenError()
    if isinstance(exc, DjangoValidationError):
        return ValidationFailedError(details=_django_validation_details(exc))
    if isinstance(exc, drf.ValidationError):
        detail = exc.detail
        return ValidationFailedError(details=detail if isinstance(detail, dict) else {"nonFieldErrors": detail})
    if not isinstance(exc, drf.APIException):
        return None
    error_class = next((error for cls, error in _DRF_ERRORS if isinstance(exc, cls)), None)
    detail = getattr(exc, "detail", "")
    if isinstance(exc, drf.AuthenticationFailed | drf.PermissionDenied):
        # A detail code naming a catalogue error of the same status keeps that error's code.
        named = error_for_code(str(_detail_code(detail) or ""))
        if named is not None and named.status_code == exc.status_code:
            error_class = named
    if error_class is None:
        named = error_for_code(str(_detail_code(detail) or ""))
        error_class = named if named is not None and named.status_code == exc.status_code else None
    if error_class is None:
        error_class = next((CATALOGUE[code].error_class for code in _GENERIC_CODES
                            if code in CATALOGUE and CATALOGUE[code].status_code == exc.status_code), None)
    if error_class is None:
        return None
    details = {}
    if isinstance(exc, drf.Throttled) and exc.wait is not None:
        details = {"retryAfterSeconds": max(1, int(exc.wait))}
    return error_class(plain_message(detail) or None, details=details)


def _detail_code(detail: Any) -> str | None:
    if isinstance(detail, Mapping):
        code = detail.get("code")
        return str(code) if code else _detail_code(detail.get("detail"))
    return getattr(detail, "code", None)


def _django_validation_details(exc: DjangoValidationError) -> dict[str, Any]:
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
    return {"nonFieldErrors": [str(message) for message in exc.messages]}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every API error leaves here in the one shape."""
    # Imported here: rest_framework.views reads DRF's settings, which import the apps' authentication
    # classes, which import this module; at module level that is a circular import.
    from rest_framework.views import exception_handler as drf_exception_handler
    from rest_framework.views import set_rollback

    error = as_application_error(exc)
    if error is None:
        return drf_exception_handler(exc, context)
    if (isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed) and exc.status_code == 403
            and error.status_code == 401 and error is not getattr(exc, "application_error", None)):
        # DRF answers 403 when no authentication class names a WWW-Authenticate scheme.
        error = ForbiddenError(error.message, details=error.details)
    set_rollback()
    response = Response(error.as_body(), status=error.status_code)
    headers = dict(error.headers)
    auth_header = getattr(exc, "auth_header", None)
    if error.status_code == 401 and not auth_header:
        view, request = context.get("view"), context.get("request")
        auth_header = view.get_authenticate_header(request) if view is not None and request is not None else None
    if error.status_code == 401 and auth_header:
        headers["WWW-Authenticate"] = auth_header
    for key, value in headers.items():
        response[key] = value
    return response
