"""Service clients and the service tokens they exchange their secret for (spec 6.3)."""

from dataclasses import dataclass
from functools import cache

from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone

from identity.errors import InvalidClient, InvalidScope
from identity.models import SERVICE_SCOPES, ServiceClient
from identity.services.login import login_failure_record, login_success_record, login_throttle_check
from integration.service_auth import SERVICE_TOKEN_TTL_SECONDS, InsufficientScope, mint_service_token


@dataclass(frozen=True)
class ClientUpsert:
    client: ServiceClient
    created: bool


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


@transaction.atomic
def service_client_upsert(*, client_id: str, secret: str, scopes: list[str], description: str = "") -> ClientUpsert:
    """Creates the client, or updates its secret, scopes and description (and re-activates it)."""
    scopes = _checked_scopes(scopes)
    if not secret:
        raise InvalidClient("A secret is required.", code="secret_required", status_code=400)
    client = ServiceClient.objects.select_for_update().filter(client_id=client_id).first()
    created = client is None
    if created:
        client = ServiceClient(client_id=client_id)
    client.secret_hash = make_password(secret)
    client.scopes = sorted(scopes)
    client.is_active = True
    if description or created:
        client.description = description
    client.full_clean()
    client.save()
    return ClientUpsert(client=client, created=created)


@cache
def _dummy_hash() -> str:
    return make_password("not-a-real-client-secret")


def service_token_issue(*, client_id: str, client_secret: str, scope) -> dict:
    """``{accessToken, expiresIn, scope}``. Unknown scope names: 400 ``invalid_scope``; unknown client or
    wrong secret: 401 ``invalid_client`` (the hasher runs either way); a scope the client was not
    granted: 403 ``insufficient_scope``. Wrong secrets are throttled like sign-ins, per client id."""
    scopes = _checked_scopes(scope)
    if not scopes:
        raise InvalidScope("Ask for at least one scope.")
    throttle_key = f"service-client:{client_id}"
    login_throttle_check(email=throttle_key, address=None)
    client = ServiceClient.objects.filter(client_id=str(client_id)[:100], is_active=True).first()
    if client is None:
        check_password(client_secret or "", _dummy_hash())
        login_failure_record(email=throttle_key, address=None)
        raise InvalidClient()
    if not check_password(client_secret or "", client.secret_hash, setter=lambda raw: _rehash(client, raw)):
        login_failure_record(email=throttle_key, address=None)
        raise InvalidClient()
    login_success_record(email=throttle_key)
    missing = sorted(set(scopes) - set(client.scopes))
    if missing:
        raise InsufficientScope("The client was not granted: " + ", ".join(missing) + ".",
                                details={"notGranted": missing})
    ServiceClient.objects.filter(pk=client.pk).update(last_token_at=timezone.now())
    return {"accessToken": mint_service_token(client_id=client.client_id, scopes=scopes),
            "expiresIn": SERVICE_TOKEN_TTL_SECONDS, "scope": scopes}


def _rehash(client: ServiceClient, raw: str) -> None:
    ServiceClient.objects.filter(pk=client.pk).update(secret_hash=make_password(raw))
