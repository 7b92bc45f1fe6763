"""Small request and link helpers shared by the LMS pages and API."""

from django.http import HttpRequest

from integration.client_address import client_address
from integration.routes import COMMERCE, LMS, route_named, side_url


def client_ip(request: HttpRequest) -> str:
    """The caller's address by the project's one rule (``integration.client_address``, TRUSTED_PROXY_COUNT)."""
    return client_address(request)[:64]


def store_url(path: str) -> str:
    """A store page: on this site when it serves Commerce, else on COMMERCE_BASE_URL."""
    return side_url(COMMERCE, path)


STORE_LOGIN_PATH = route_named("identity.login").path
STORE_SSO_START_PATH = route_named("identity.sso_start").path


def lms_url(path: str) -> str:
    """An absolute link to an LMS page (for emails and PDFs)."""
    return side_url(LMS, path, absolute=True)
