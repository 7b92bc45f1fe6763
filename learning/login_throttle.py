"""Failed legacy logins counted per email and per client address in the cache (fixed windows)."""

import hashlib

from django.conf import settings
from django.core.cache import cache


def max_failures() -> int:
    return getattr(settings, "LEGACY_LOGIN_MAX_FAILURES", 5)


def window_seconds() -> int:
    return getattr(settings, "LEGACY_LOGIN_WINDOW_SECONDS", 300)


def _keys(*, email: str, ip: str) -> list[str]:
    # Hashed so that no email address sits in the cache in clear.
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return [f"legacy-login:email:{digest}", f"legacy-login:ip:{ip or 'unknown'}"]


def is_blocked(*, email: str, ip: str) -> bool:
    limit = max_failures()
    return any((cache.get(key) or 0) >= limit for key in _keys(email=email, ip=ip))


def record_failure(*, email: str, ip: str) -> None:
    for key in _keys(email=email, ip=ip):
        # add() starts the window; incr() keeps its expiry.
        cache.add(key, 0, window_seconds())
        try:
            cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.set(key, 1, window_seconds())


def record_success(*, email: str) -> None:
    cache.delete(_keys(email=email, ip="")[0])
