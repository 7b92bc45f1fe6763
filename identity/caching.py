"""Security state that token validation reads from a cache, with the database as its source of truth.

Everything here lives in the ``security`` cache alias, which nothing else uses
(page caches, the LMS's token-validation answers and DRF's throttles use
``default``), so no flood of other entries can evict it. And nothing depends on
an entry being there: **a miss is never an answer**. A miss (an evicted entry, a
restarted or unreachable cache) costs one indexed database read, whose answer
is then cached. A Redis outage makes every read a miss (``integration/cache.py``),
so the answers stay right, only slower.

Three kinds of entry:

* **token families** (``rev:fam:<family id>``): ``1`` revoked, ``0`` live. A
  revocation is written to the database first, then here, kept for as long as
  a token of that family could still be alive; a "live" answer is kept
  IDENTITY_USER_CACHE_SECONDS (it is also overwritten by the revocation), which
  bounds how long a revocation missed by an unreachable cache can go unseen.
* **public identities** (``user:<user id>``): id, email, commerce roles and
  whether the account is active, dropped whenever one of those changes.
* **service clients** (``svc:<client id>``): whether it exists and is active,
  its scopes and when its secret last changed (``identity/services/service_clients.py``).

Answers about tokens that fail the format or signature check are never cached:
only a genuine token (signed by us) reaches this module.
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db.models import Exists, OuterRef
from django.utils import timezone

from identity.models import Role, ServiceClient, TokenFamily, User, UserRole
from integration.cache import CacheUnavailable, TolerantRedisCache

SECURITY_CACHE = "security"
_FAMILY_PREFIX = "rev:fam:"
_USER_PREFIX = "user:"
_CLIENT_PREFIX = "svc:"
REVOKED, LIVE = 1, 0
ROLE_ORDER = [Role.PURCHASER.value, Role.PAYEE.value, Role.COMMERCE_ADMIN.value]

_redis_clients: dict[int, Any] = {}


def security_cache():
    return caches[SECURITY_CACHE]


def cache_get_many(keys: list[str]) -> dict[str, Any]:
    """``get_many`` on the security alias, for the hot path; ``{}`` while the cache is unreachable.

    Django's Redis backend builds a new ``redis.Redis`` object for every
    operation, which with redis-py 8 costs more than the round trip itself
    (~0.3 ms). Here one client per connection pool is kept and reused (the pool
    is Django's, so connections and settings are shared); other backends go
    through the public API.
    """
    backend = security_cache()
    if not isinstance(backend, TolerantRedisCache):
        return backend.get_many(keys)
    try:
        return backend.raw(_redis_mget, backend, keys)
    except CacheUnavailable:
        return {}


def _redis_mget(backend: TolerantRedisCache, keys: list[str]) -> dict[str, Any]:
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


def client_key(client_id: str) -> str:
    return _CLIENT_PREFIX + str(client_id)


def _live_ttl() -> int | None:
    return settings.IDENTITY_USER_CACHE_SECONDS if settings.IDENTITY_USER_CACHE_SECONDS > 0 else None


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


# --- token families -------------------------------------------------------------------

def family_revocation_ttl(absolute_expires_at: datetime, *, now: datetime) -> int:
    """Seconds a token of this family could still be valid: refresh tokens end at the absolute
    expiry, and an access token minted just before it lives one access lifetime longer."""
    last_valid = absolute_expires_at + timedelta(seconds=settings.JWT_ACCESS_TTL_SECONDS)
    return max(1, int((last_valid - now).total_seconds()) + 1)


def family_revoked_remember(*, family_id: str, absolute_expires_at: datetime, now: datetime) -> None:
    security_cache().set(family_key(family_id), REVOKED, family_revocation_ttl(absolute_expires_at, now=now))


def _family_answer_remember(*, family_id, revoked_at, absolute_expires_at, now: datetime) -> bool:
    """Caches what the database said about a family; answers whether it is revoked."""
    if revoked_at is not None:
        family_revoked_remember(family_id=family_id, absolute_expires_at=absolute_expires_at, now=now)
        return True
    security_cache().set(family_key(family_id), LIVE, _live_ttl())
    return False


def family_is_revoked(*, family_id: str) -> bool:
    """From the cache, else one indexed read (primary key). A family that does not exist counts as
    revoked: only a token we signed names one, so its row was deleted with its user."""
    found = cache_get_many([family_key(family_id)])
    if family_key(family_id) in found:
        return found[family_key(family_id)] == REVOKED
    if not _is_uuid(family_id):
        return True
    row = TokenFamily.objects.filter(pk=family_id).values("revoked_at", "absolute_expires_at").first()
    if row is None:
        return True
    return _family_answer_remember(family_id=family_id, now=timezone.now(), **row)


def revocations_warm(*, now: datetime | None = None) -> int:
    """Copies every revocation that still matters into the cache (optional: a miss reads the database
    anyway); returns how many. ``manage.py identity_revocations_warm`` runs it."""
    now = now or timezone.now()
    horizon = now - timedelta(seconds=settings.JWT_ACCESS_TTL_SECONDS)
    rows = TokenFamily.objects.filter(revoked_at__isnull=False, absolute_expires_at__gt=horizon).values_list(
        "id", "absolute_expires_at")
    count = 0
    batch: dict[int, dict[str, Any]] = {}
    for family_id, absolute_expires_at in rows.iterator(chunk_size=2000):
        ttl = family_revocation_ttl(absolute_expires_at, now=now)
        batch.setdefault(ttl, {})[family_key(family_id)] = REVOKED
        count += 1
        if count % 2000 == 0:
            _flush(batch)
    _flush(batch)
    return count


def _flush(batch: dict[int, dict[str, Any]]) -> None:
    for ttl, entries in batch.items():
        security_cache().set_many(entries, ttl)
    batch.clear()


# --- public identities -----------------------------------------------------------------

def _with_roles(queryset, user_ref: str):
    return queryset.annotate(
        _payee=Exists(UserRole.objects.filter(user_id=OuterRef(user_ref), role=Role.PAYEE)),
        _admin=Exists(UserRole.objects.filter(user_id=OuterRef(user_ref), role=Role.COMMERCE_ADMIN)))


def _identity_of(*, user_id, email: str, is_active: bool, payee: bool, admin: bool) -> dict:
    roles = {Role.PURCHASER.value} | ({Role.PAYEE.value} if payee else set()) | (
        {Role.COMMERCE_ADMIN.value} if admin else set())
    return {"id": str(user_id), "email": email, "commerceRoles": [r for r in ROLE_ORDER if r in roles],
            "active": is_active}


def user_identity_load(user_id: str) -> dict | None:
    """The public identity from the database (one query), then cached."""
    if not _is_uuid(user_id):
        return None
    row = _with_roles(User.objects.filter(pk=user_id), "pk").values(
        "id", "email", "is_active", "_payee", "_admin").first()
    if row is None:
        return None
    identity = _identity_of(user_id=row["id"], email=row["email"], is_active=row["is_active"],
                            payee=row["_payee"], admin=row["_admin"])
    security_cache().set(user_key(user_id), identity, _live_ttl())
    return identity


def user_identity(user_id: str) -> dict | None:
    return security_cache().get(user_key(user_id)) or user_identity_load(user_id)


def user_identity_forget(user_id: str) -> None:
    security_cache().delete(user_key(user_id))


def token_state(*, family_id: str, user_id: str) -> tuple[bool, dict | None]:
    """``(revoked, public identity)`` for an access token: one cache read when warm, one database
    read (the family joined to its user and roles) when either entry is missing."""
    fam, uid = family_key(family_id), user_key(user_id)
    found = cache_get_many([fam, uid])
    if found.get(fam) == REVOKED:
        return True, None
    if fam in found and uid in found:
        return False, found[uid]
    if fam in found:
        return False, user_identity_load(user_id)
    if not (_is_uuid(family_id) and _is_uuid(user_id)):
        return True, None
    row = _with_roles(TokenFamily.objects.filter(pk=family_id, user_id=user_id), "user_id").values(
        "revoked_at", "absolute_expires_at", "user__email", "user__is_active", "_payee", "_admin").first()
    if row is None:
        return True, None
    if _family_answer_remember(family_id=family_id, revoked_at=row["revoked_at"],
                               absolute_expires_at=row["absolute_expires_at"], now=timezone.now()):
        return True, None
    identity = found.get(uid)
    if identity is None:
        identity = _identity_of(user_id=user_id, email=row["user__email"], is_active=row["user__is_active"],
                                payee=row["_payee"], admin=row["_admin"])
        security_cache().set(uid, identity, _live_ttl())
    return False, identity


# --- service clients --------------------------------------------------------------------

def secret_version(secret_changed_at: datetime | None) -> int:
    """What a service token carries as ``cv``: when its client's secret last changed, in milliseconds."""
    return int(secret_changed_at.timestamp() * 1000) if secret_changed_at else 0


def service_client_state(client_id: str) -> dict:
    """``{exists, active, scopes, secretVersion}`` of a service client, cached."""
    key = client_key(client_id)
    cached = security_cache().get(key)
    if cached is not None:
        return cached
    row = ServiceClient.objects.filter(client_id=str(client_id)[:100]).values(
        "is_active", "scopes", "secret_changed_at").first()
    state = {"exists": row is not None, "active": bool(row and row["is_active"]),
             "scopes": sorted(row["scopes"]) if row else [],
             "secretVersion": secret_version(row["secret_changed_at"] if row else None)}
    security_cache().set(key, state, _live_ttl())
    return state


def service_client_forget(client_id: str) -> None:
    security_cache().delete(client_key(client_id))
