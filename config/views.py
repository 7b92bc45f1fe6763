"""The site's front page and error pages (JSON on API paths, the site's layout elsewhere)."""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.csrf import requires_csrf_token

from integration.errors import ApplicationError, ForbiddenError, NotFoundError, ServerError, error_response
from integration.middleware import is_api_path


def home(request):
    """The storefront's catalog where this deployment sells (Commerce), else a plain front page."""
    if settings.SERVES_COMMERCE:
        from catalog.views.storefront import catalog_home

        return catalog_home(request)
    return render(request, "home.html")


def _error(request, error: type[ApplicationError], message: str):
    if is_api_path(request.path):
        return error_response(error)
    return render(request, "error.html", {"status": error.status_code, "message": message},
                  status=error.status_code)


@requires_csrf_token
def bad_request(request, exception=None):
    return _error(request, ApplicationError, "The request could not be understood.")


@requires_csrf_token
def permission_denied(request, exception=None):
    return _error(request, ForbiddenError, "You do not have access to this page.")


@requires_csrf_token
def page_not_found(request, exception=None):
    return _error(request, NotFoundError, "We could not find that page.")


@requires_csrf_token
def server_error(request):
    return _error(request, ServerError, "Something went wrong on our side. Please try again.")
