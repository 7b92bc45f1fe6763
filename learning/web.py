"""Small request and link helpers shared by the LMS pages and API."""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The caller's address. Behind the proxy (BEHIND_PROXY), the one it appended to X-Forwarded-For."""
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.split(",")[-1].strip()
        if last:
            return last[:64]
    return request.META.get("REMOTE_ADDR", "")[:64]


def store_url(path: str) -> str:
    """A store page: on this site when it serves Commerce, else on COMMERCE_BASE_URL."""
    return path if settings.SERVES_COMMERCE else settings.COMMERCE_BASE_URL.rstrip("/") + path


STORE_LOGIN_PATH = "/account/login/"
STORE_SSO_START_PATH = "/account/sso/lms/"
