"""One application error type, and the one place that turns errors into JSON.

Every error body is ``{"error": {"code", "message", "details"}}`` with a 4xx/5xx status.
Domain apps subclass :class:`ApplicationError` where they raise.
"""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ApplicationError(Exception):
    status_code = 400
    code = "bad_request"
    default_message = "The request could not be processed."

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 status_code: int | None = None, details: dict[str, Any] | None = None):
        self.message = message or self.default_message
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.details = details or {}
        super().__init__(self.message)

    def as_body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)


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


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(code: str, message: str, status: int, details: dict | None = None,
                   headers: dict | None = None) -> JsonResponse:
    response = JsonResponse(error_body(code, message, details), status=status)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


_DRF_CODES = {
    drf.ParseError: "malformed_request",
    drf.AuthenticationFailed: "authentication_failed",
    drf.NotAuthenticated: "not_authenticated",
    drf.PermissionDenied: "permission_denied",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "throttled",
    drf.ValidationError: "validation_error",
}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every API error leaves here in the one shape."""
    if isinstance(exc, ApplicationError):
        return Response(exc.as_body(), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, drf.ValidationError):
        message = "Some fields are invalid."
        details = exc.detail if isinstance(exc.detail, dict) else {"nonFieldErrors": exc.detail}
    else:
        detail = getattr(exc, "detail", "")
        message = str(detail) if detail else "Error."
        details = {}
        detail_code = getattr(detail, "code", None)
        if code in {"authentication_failed", "permission_denied"} and detail_code and detail_code not in {
            "authentication_failed", "permission_denied"}:
            code = str(detail_code)
        if isinstance(exc, drf.Throttled) and exc.wait is not None:
            details = {"retryAfterSeconds": int(exc.wait)}
    response.data = error_body(code, message, details)
    return response
