"""What token validation reads from the cache instead of the database.

Two kinds of entry:

* **revoked families** (``idn:rev:fam:<family id>``), written together with the
  database row (the source of truth) and kept for as long as a token of that
  family could still be alive. A marker (``idn:rev:warm``) says the cache holds
  every revocation; when it is missing (a restarted or flushed cache, or a new
  process with the per-process cache) the next check re-reads the revocations
  from the database once (:func:`revocations_warm`; also the
  ``identity_revocations_warm`` command). With the per-process cache the marker
  expires after IDENTITY_REVOCATION_REWARM_SECONDS, which is how a revocation
  made in one process reaches the others.
* **public identities** (``idn:user:<user id>``): id, email, commerce roles and
  whether the account is active, dropped whenever one of those changes.
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone

from identity.models import Role, TokenFamily, User, UserRole

WARM_KEY = "idn:rev:warm"
_FAMILY_PREFIX = "idn:rev:fam:"
_USER_PREFIX = "idn:user:"
ROLE_ORDER = [Role.PURCHASER.value, Role.PAYEE.value, Role.COMMERCE_ADMIN.value]


_redis_clients: dict[int, Any] = {}


def cache_get_many(keys: list[str]) -> dict[str, Any]:
    """``cache.get_many`` for the hot path.

    Django's Redis backend builds a new ``redis.Redis`` object for every
    operation, which with redis-py 8 costs more than the round trip itself
    (~0.3 ms). Here one client per connection pool is kept and reused (the pool
    is Django's, so connections and settings are shared); other backends go
    through the public API.
    """
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return backend.get_many(keys)
    redis_cache = backend._cache
    pool = redis_cache._get_connection_pool(write=False)
    client = _redis_clients.get(id(pool))
    if client is None:
        client = _redis_clients[id(pool)] = redis_cache._client(connection_pool=pool)
    values = client.mget([backend.make_key(key) for key in keys])
    return {key: redis_cache._serializer.loads(value) for key, value in zip(keys, values, strict=True)
            if value is not None}


def family_key(family_id: str) -> str:
    return _FAMILY_PREFIX + str(family_id)


def user_key(user_id: str) -> str:
    return _USER_PREFIX + str(user_id)


def _forever_or(seconds: int) -> int | None:
    return seconds if seconds > 0 else None


def family_revocation_ttl(absolute_expires_at: datetime, *, now: datetime) -> int:
    """Seconds a token of this family could still be valid: refresh tokens end at the absolute
    expiry, and an access token minted just before it lives one access lifetime longer."""
    last_valid = absolute_expires_at + timedelta(seconds=settings.JWT_ACCESS_TTL_SECONDS)
    return max(1, int((last_valid - now).total_seconds()) + 1)


def family_revoked_remember(*, family_id: str, absolute_expires_at: datetime, now: datetime) -> None:
    cache.set(family_key(family_id), 1, family_revocation_ttl(absolute_expires_at, now=now))


def revocations_warm(*, now: datetime | None = None) -> int:
    """Copies every revocation that still matters from the database into the cache; returns how many."""
    now = now or timezone.now()
    horizon = now - timedelta(seconds=settings.JWT_ACCESS_TTL_SECONDS)
    rows = TokenFamily.objects.filter(revoked_at__isnull=False, absolute_expires_at__gt=horizon).values_list(
        "id", "absolute_expires_at")
    count = 0
    batch: dict[int, dict[str, Any]] = {}
    for family_id, absolute_expires_at in rows.iterator(chunk_size=2000):
        ttl = family_revocation_ttl(absolute_expires_at, now=now)
        batch.setdefault(ttl, {})[family_key(family_id)] = 1
        count += 1
        if count % 2000 == 0:
            _flush(batch)
    _flush(batch)
    cache.set(WARM_KEY, now.isoformat(), _forever_or(settings.IDENTITY_REVOCATION_REWARM_SECONDS))
    return count


def _flush(batch: dict[int, dict[str, Any]]) -> None:
    for ttl, entries in batch.items():
        cache.set_many(entries, ttl)
    batch.clear()


def family_is_revoked(*, family_id: str) -> bool:
    """Cache only (plus a one-off re-warm when the cache has lost its revocations)."""
    key = family_key(family_id)
    found = cache_get_many([WARM_KEY, key])
    if WARM_KEY not in found:
        revocations_warm()
        return cache.get(key) is not None
    return key in found


def user_identity_load(user_id: str) -> dict | None:
    """The public identity from the database, then cached."""
    try:
        uuid.UUID(str(user_id))
    except ValueError:
        return None
    row = User.objects.filter(pk=user_id).values("id", "email", "is_active").first()
    if row is None:
        return None
    stored = set(UserRole.objects.filter(user_id=user_id).values_list("role", flat=True))
    identity = {
        "id": str(row["id"]),
        "email": row["email"],
        "commerceRoles": [role for role in ROLE_ORDER if role == Role.PURCHASER or role in stored],
        "active": row["is_active"],
    }
    cache.set(user_key(user_id), identity, _forever_or(settings.IDENTITY_USER_CACHE_SECONDS))
    return identity


def user_identity(user_id: str) -> dict | None:
    return cache.get(user_key(user_id)) or user_identity_load(user_id)


def user_identity_forget(user_id: str) -> None:
    cache.delete(user_key(user_id))
