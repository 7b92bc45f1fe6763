"""The site's front page and error pages (JSON on API paths, the site's layout elsewhere)."""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.csrf import requires_csrf_token

from integration.errors import error_response
from integration.middleware import is_api_path


def home(request):
    """The storefront's catalog where this deployment sells (Commerce), else a plain front page."""
    if settings.SERVES_COMMERCE:
        from catalog.views.storefront import catalog_home

        return catalog_home(request)
    return render(request, "home.html")


def _error(request, status: int, code: str, message: str):
    if is_api_path(request.path):
        return error_response(code, message, status)
    return render(request, "error.html", {"status": status, "message": message}, status=status)


@requires_csrf_token
def bad_request(request, exception=None):
    return _error(request, 400, "bad_request", "The request could not be understood.")


@requires_csrf_token
def permission_denied(request, exception=None):
    return _error(request, 403, "permission_denied", "You do not have access to this page.")


@requires_csrf_token
def page_not_found(request, exception=None):
    return _error(request, 404, "not_found", "We could not find that page.")


@requires_csrf_token
def server_error(request):
    return _error(request, 500, "server_error", "Something went wrong on our side. Please try again.")
