"""The one rule for "which address is this client": every rate limit and lockout keys on it.

``TRUSTED_PROXY_COUNT`` (default 0) says how many proxies in front of this process are
ours. With 0, ``X-Forwarded-For`` is ignored (anyone can write it) and the address is the
socket's ``REMOTE_ADDR``. With *n*, each of our *n* proxies appended the address it was
reached from, so the client is the *n*-th entry from the right; entries further left were
written by the client and are never trusted. A request with fewer entries than *n* did
not pass every proxy: its leftmost entry is the best we have.

DRF's throttles (``NUM_PROXIES``) and allauth (``ALLAUTH_TRUSTED_PROXY_COUNT`` and the
account adapter's ``get_client_ip``) are configured from the same setting;
``tests/integration/test_client_address.py`` checks that they agree with this function.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest

UNKNOWN_ADDRESS = "unknown"


def client_address(request: HttpRequest) -> str:
    """The client's IP address as this deployment can trust it; ``"unknown"`` if there is none."""
    request = getattr(request, "_request", request)  # a DRF Request wraps the HttpRequest
    meta = request.META
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted > 0:
        forwarded = [entry.strip() for entry in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if entry.strip()]
        if forwarded:
            address = _clean(forwarded[-min(trusted, len(forwarded))])
            if address:
                return address
    return _clean(meta.get("REMOTE_ADDR", "")) or UNKNOWN_ADDRESS


def _clean(value: str) -> str:
    """A syntactically valid IP address (port and brackets removed), else ``""``."""
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return ""
