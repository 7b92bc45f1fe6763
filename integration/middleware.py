"""Request id on every request and log line; JSON (never HTML) errors on API paths."""

import logging
import re
import uuid

import structlog
from django.conf import settings

from integration.errors import error_response

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-Id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
API_PREFIXES = ("/api/",)


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


class RequestIdMiddleware:
    """Takes a caller's X-Request-Id if well-formed (so it travels across services), else makes one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        # django-structlog binds the id it finds in this header; without it, it would make its own.
        request.META["HTTP_X_REQUEST_ID"] = request_id
        request.__dict__.pop("headers", None)  # HttpRequest.headers is cached from META
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            response = self.get_response(request)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
        response[REQUEST_ID_HEADER] = request_id
        return response


class ApiErrorMiddleware:
    """Errors raised outside DRF on API paths (unknown URL, crash) answer JSON, never a debug page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if is_api_path(request.path) and response.status_code in {404, 405} and not _is_json(response):
            return error_response("not_found" if response.status_code == 404 else "method_not_allowed",
                                  "Not found." if response.status_code == 404 else "Method not allowed.",
                                  response.status_code)
        return response

    def process_exception(self, request, exception):
        if not is_api_path(request.path):
            return None
        logger.exception("unhandled API error", extra={"path": request.path})
        if settings.DEBUG:
            return None
        return error_response("server_error", "An unexpected error occurred.", 500)


def _is_json(response) -> bool:
    return response.get("Content-Type", "").startswith("application/json")
