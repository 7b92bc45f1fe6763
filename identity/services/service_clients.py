"""Service clients and the service tokens they exchange their secret for (spec 6.3).

Every change to a client (the admin, ``manage.py create_service_client``) goes
through :func:`service_client_upsert`, which hashes the secret, writes an audit
row and drops the client's cached state, so tokens already issued stop working
at once when the client is deactivated, loses a scope (for calls needing it) or
gets a new secret (:func:`service_client_token_check`).
"""

import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone

from identity import caching
from identity.errors import InvalidClient, InvalidScope, SecretRequired, ServiceClientLocked
from identity.models import SERVICE_SCOPES, ServiceClient, ServiceClientAuditLog
from integration.service_auth import SERVICE_TOKEN_TTL_SECONDS, InsufficientScope, mint_service_token
from integration.throttle import AttemptLimit, attempt_begin, attempt_succeeded, hashed

GENERATED_SECRET_BYTES = 32


@dataclass(frozen=True)
class ClientUpsert:
    client: ServiceClient
    created: bool
    changed: bool
    # Only when the service generated it: shown once, stored hashed.
    generated_secret: str | None = None


def _checked_scopes(scopes) -> list[str]:
    if isinstance(scopes, str):
        scopes = scopes.split()
    if not isinstance(scopes, list | tuple) or not all(isinstance(scope, str) for scope in scopes):
        raise InvalidScope("scope must be a list of scope names.")
    unknown = sorted(set(scopes) - set(SERVICE_SCOPES))
    if unknown:
        raise InvalidScope(f"Unknown scope: {', '.join(unknown)}.",
                           details={"unknown": unknown, "known": list(SERVICE_SCOPES)})
    return list(dict.fromkeys(scopes))


def service_client_secret_generate() -> str:
    return secrets.token_urlsafe(GENERATED_SECRET_BYTES)


@transaction.atomic
def service_client_upsert(*, client_id: str, scopes: list[str], actor: str, secret: str | None = None,
                          generate_secret: bool = False, description: str | None = None,
                          is_active: bool = True, reason: str = "",
                          now: datetime | None = None) -> ClientUpsert:
    """Creates the client, or updates its scopes, description, active flag and (when given) secret.

    A new client needs a secret (given, or ``generate_secret``); an existing one keeps its secret
    unless a new one is given. Each change is written to :class:`ServiceClientAuditLog` (never the
    secret), and the client's cached state is dropped after commit.
    """
    now = now or timezone.now()
    scopes = sorted(_checked_scopes(scopes))
    generated = service_client_secret_generate() if generate_secret and not secret else None
    secret = secret or generated
    client = ServiceClient.objects.select_for_update().filter(client_id=client_id).first()
    created = client is None
    if created:
        if not secret:
            raise SecretRequired()
        client = ServiceClient(client_id=client_id, created_at=now)
    before = {"scopes": sorted(client.scopes or []), "isActive": client.is_active,
              "description": client.description}
    client.scopes = scopes
    client.is_active = is_active
    if description is not None:
        client.description = description
    if secret and not created and check_password(secret, client.secret_hash):
        secret = None  # the same secret again (an idempotent re-run): nothing changes, tokens stay valid
    if secret:
        client.secret_hash = make_password(secret)
        client.secret_changed_at = now
    client.full_clean()
    client.save()
    after = {"scopes": scopes, "isActive": is_active, "description": client.description}
    changes = {name: [before[name], after[name]] for name in after if created or before[name] != after[name]}
    if secret:
        changes["secretChanged"] = True
    if created:
        action = ServiceClientAuditLog.Action.CREATE
    elif before["isActive"] and not is_active:
        action = ServiceClientAuditLog.Action.DEACTIVATE
    elif set(changes) == {"secretChanged"}:
        action = ServiceClientAuditLog.Action.SECRET
    else:
        action = ServiceClientAuditLog.Action.UPDATE
    if changes:
        ServiceClientAuditLog.objects.create(client_id=client.client_id, action=action, actor=actor[:255],
                                             reason=reason[:1000], changes=changes, created_at=now)
    caching.service_client_forget(client.client_id)
    transaction.on_commit(lambda: caching.service_client_forget(client.client_id))
    return ClientUpsert(client=client, created=created, changed=bool(changes), generated_secret=generated)


@cache
def _dummy_hash() -> str:
    return make_password("not-a-real-client-secret")


def _limits(*, client_id: str, address: str | None) -> list[AttemptLimit]:
    """Per (client id, address): guesses from one place never lock the client out everywhere."""
    pair = f"{client_id}|{address or 'unknown'}"
    return [AttemptLimit(key=f"svc:{hashed(pair)}",
                         limit=settings.IDENTITY_LOGIN_FAILURES_PER_ACCOUNT,
                         window_seconds=settings.IDENTITY_LOGIN_FAILURE_WINDOW_SECONDS,
                         lockout_seconds=settings.IDENTITY_LOGIN_LOCKOUT_BASE_SECONDS,
                         lockout_max_seconds=settings.IDENTITY_LOGIN_LOCKOUT_MAX_SECONDS)]


def service_token_issue(*, client_id: str, client_secret: str, scope, address: str | None = None) -> dict:
    """``{accessToken, expiresIn, scope}``. Unknown scope names: 400 ``invalid_scope``; unknown client or
    wrong secret: 401 ``invalid_client`` (the hasher runs either way); a scope the client was not
    granted: 403 ``insufficient_scope``. Attempts are counted per (client id, address) before the
    secret is checked; a locked pair answers 429 ``too_many_client_attempts``."""
    scopes = _checked_scopes(scope)
    if not scopes:
        raise InvalidScope("Ask for at least one scope.")
    limits = _limits(client_id=str(client_id), address=address)
    wait = attempt_begin(limits)
    if wait:
        raise ServiceClientLocked(details={"retryAfterSeconds": wait})
    client = ServiceClient.objects.filter(client_id=str(client_id)[:100], is_active=True).first()
    if client is None:
        check_password(client_secret or "", _dummy_hash())
        raise InvalidClient()
    if not check_password(client_secret or "", client.secret_hash, setter=lambda raw: _rehash(client, raw)):
        raise InvalidClient()
    attempt_succeeded(clear=limits)
    missing = sorted(set(scopes) - set(client.scopes))
    if missing:
        raise InsufficientScope("The client was not granted: " + ", ".join(missing) + ".",
                                details={"notGranted": missing})
    ServiceClient.objects.filter(pk=client.pk).update(last_token_at=timezone.now())
    return {"accessToken": mint_service_token(client_id=client.client_id, scopes=scopes, client_bound=True,
                                              credentials_version=caching.secret_version(client.secret_changed_at)),
            "expiresIn": SERVICE_TOKEN_TTL_SECONDS, "scope": scopes}


def _rehash(client: ServiceClient, raw: str) -> None:
    ServiceClient.objects.filter(pk=client.pk).update(secret_hash=make_password(raw))


def service_client_token_check(*, client_id: str, scopes: frozenset[str], credentials_version: int,
                               client_bound: bool) -> frozenset[str] | None:
    """What a service token may still do: ``None`` when its client no longer exists, is inactive, or
    has had its secret changed since the token was issued (claim ``cv``); else the token's scopes that the client
    still holds. Served from the security cache (0 queries when warm, 1 on a miss).

    Every token the exchange issues names its client (claim ``cid``) and is checked. A token minted
    with the signing key outside the exchange (tests, tooling) names none and keeps its scopes: only
    a holder of SERVICE_TOKEN_SIGNING_KEY can make one."""
    if not client_bound:
        return frozenset(scopes)
    state = caching.service_client_state(client_id)
    if not state["exists"] or not state["active"] or int(credentials_version) != state["secretVersion"]:
        return None
    return frozenset(scopes) & frozenset(state["scopes"])
