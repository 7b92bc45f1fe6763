"""A Redis cache that a Redis outage cannot turn into 500s.

Django's Redis backend raises on every operation while Redis is down, and waits
for the socket timeout on every operation while it hangs. Nothing this project
keeps in a cache is the only copy of anything that matters (security state has
its database fallback, see ``identity/caching.py``), so here a failing cache
behaves like an empty one: reads miss, writes are dropped, and after a failure
the backend stops trying for CACHE_OUTAGE_RETRY_SECONDS, so a hung Redis costs
one short socket timeout per process and interval, not one per call. Each
outage is logged once.

Settings use it for every Redis alias (``OPTIONS`` carry ``socket_timeout`` and
``socket_connect_timeout``, a fraction of a second).
"""

import logging
import time
from typing import Any

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

try:  # redis-py is installed with the Redis backend; the import is guarded for the embedded default
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover
    RedisError = OSError  # type: ignore[misc,assignment]

CACHE_ERRORS = (RedisError, OSError)


class CacheUnavailable(Exception):
    """Raised by :meth:`TolerantRedisCache.raw` while the cache is known to be down."""


class TolerantRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._down_until = 0.0

    # --- outage bookkeeping -------------------------------------------------

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, operation: str, exc: Exception) -> None:
        if self.available:
            logger.warning("cache %s unavailable (%s: %s); serving without it", self._alias_name(), operation,
                           exc.__class__.__name__)
        self._down_until = time.monotonic() + settings.CACHE_OUTAGE_RETRY_SECONDS

    def _alias_name(self) -> str:
        return str(self.key_prefix or "default")

    def _guarded(self, operation: str, fallback: Any, call, *args, **kwargs):
        if not self.available:
            return fallback
        try:
            return call(*args, **kwargs)
        except CACHE_ERRORS as exc:
            self._failed(operation, exc)
            return fallback

    def raw(self, call, *args, **kwargs):
        """Runs ``call`` (something using this backend's internals); raises :class:`CacheUnavailable`
        instead of a connection error, and marks the outage."""
        if not self.available:
            raise CacheUnavailable
        try:
            return call(*args, **kwargs)
        except CACHE_ERRORS as exc:
            self._failed("raw", exc)
            raise CacheUnavailable from exc

    # --- the cache API ------------------------------------------------------

    def get(self, key, default=None, version=None):
        return self._guarded("get", default, super().get, key, default, version)

    def get_many(self, keys, version=None):
        return self._guarded("get_many", {}, super().get_many, keys, version)

    def has_key(self, key, version=None):
        return self._guarded("has_key", False, super().has_key, key, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded("set", None, super().set, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded("set_many", list(data), super().set_many, data, timeout, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded("add", False, super().add, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded("touch", False, super().touch, key, timeout, version)

    def delete(self, key, version=None):
        return self._guarded("delete", False, super().delete, key, version)

    def delete_many(self, keys, version=None):
        return self._guarded("delete_many", None, super().delete_many, keys, version)

    def incr(self, key, delta=1, version=None):
        if not self.available:
            raise ValueError("cache unavailable")
        try:
            return super().incr(key, delta, version)
        except CACHE_ERRORS as exc:
            self._failed("incr", exc)
            raise ValueError("cache unavailable") from exc

    def clear(self):
        return self._guarded("clear", False, super().clear)
