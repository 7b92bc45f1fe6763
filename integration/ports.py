"""Synchronous ports: typed calls to the other side that return frozen data, never models.

Each facade calls the provider the receiving app registered (same process) or,
when that side runs elsewhere, its HTTP endpoint with a service token. The
wire shapes are the spec's; these functions turn them into dataclasses.

Providers (registered with ``integration.registry.register_provider``) take
keyword arguments and return the wire response dict:

=========================== ==================================================== =============================
name                        kwargs                                               answer (wire shape)
=========================== ==================================================== =============================
identity.validate_token     token                                                spec 6.1.1 ValidateTokenResponse
identity.phase              (none)                                               {"phase": 1|2|3}
identity.set_phase          phase, reason                                        {"phase": n}
identity.import_user        email, passwordHash, lmsUserId                       {"userId", "created": bool}
identity.issue_service_token client_id, client_secret, scope (list)              {"accessToken","expiresIn","scope"}
lms.sso_user                commerce_user_id                                     spec 6.2.1 SSOUserResponse
lms.catalog_export          updatedSince, type, departmentId, limit, cursor      spec 6.2.3 CatalogExportResponse
lms.legacy_report           (none)                                               {"legacyAccounts","withPassword",
                                                                                 "migrated","duplicateEmails":[...]}
=========================== ==================================================== =============================
"""

import hashlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

from integration import registry
from integration.errors import ApplicationError
from integration.routes import COMMERCE, PROVIDERS, Route


class PortUnavailable(ApplicationError):
    status_code = 503
    code = "service_unavailable"
    default_message = "The other service did not answer; try again shortly."


def serves_locally(receiver: str) -> bool:
    if getattr(settings, "INTEGRATION_FORCE_HTTP", False):
        return False
    return settings.SERVES_COMMERCE if receiver == COMMERCE else settings.SERVES_LMS


def call(name: str, *, body: dict | None = None, params: dict | None = None,
         headers: dict | None = None, **kwargs: Any) -> dict:
    """Calls provider ``name`` in process when its side runs here, else over HTTP.

    ``kwargs`` go to the local provider; ``body``/``params``/``headers`` make the HTTP request.
    """
    route: Route = PROVIDERS[name]
    if serves_locally(route.receiver) and registry.has_provider(name):
        return registry.get_provider(name)(**kwargs)
    from integration import transport

    try:
        status, answer = transport.http_call(route, body=body, params=params, headers=headers)
    except OSError as exc:  # requests' ConnectionError and Timeout are OSErrors
        raise PortUnavailable(details={"port": name, "reason": exc.__class__.__name__}) from None
    if status >= 500 or status in {408, 429}:
        raise PortUnavailable(details={"port": name, "status": status})
    if status >= 400:
        error = answer.get("error", {}) if isinstance(answer, dict) else {}
        raise ApplicationError(error.get("message") or "The other service refused the call.",
                               code=error.get("code") or "port_call_refused", status_code=status,
                               details={"port": name})
    return answer


# --- identity --------------------------------------------------------------

@dataclass(frozen=True)
class TokenValidation:
    valid: bool
    user_id: str | None = None
    email: str | None = None
    commerce_roles: tuple[str, ...] = ()
    error_code: str | None = None
    error_message: str | None = None

    @classmethod
    def from_wire(cls, answer: dict) -> "TokenValidation":
        user = answer.get("user") or {}
        error = answer.get("error") or {}
        return cls(valid=bool(answer.get("valid")), user_id=user.get("id"), email=user.get("email"),
                   commerce_roles=tuple(user.get("commerceRoles") or ()), error_code=error.get("code"),
                   error_message=error.get("message"))


def validate_token(token: str) -> TokenValidation:
    """Spec 6.1.1 through the identity port, cached for TOKEN_VALIDATION_CACHE_SECONDS (option B + C).

    A revoked token therefore stops working within that time. Invalid answers are
    cached too (a bad token cannot become good), expired ones are not needed again.
    """
    key = "tokval:" + hashlib.sha256(token.encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return cached
    result = TokenValidation.from_wire(call("identity.validate_token", token=token, body={"token": token}))
    cache.set(key, result, settings.TOKEN_VALIDATION_CACHE_SECONDS)
    return result


def identity_phase() -> int:
    return int(call("identity.phase")["phase"])


def identity_set_phase(*, phase: int, reason: str) -> int:
    body = {"phase": phase, "reason": reason}
    return int(call("identity.set_phase", phase=phase, reason=reason, body=body)["phase"])


@dataclass(frozen=True)
class ImportedIdentity:
    user_id: str
    created: bool


def identity_import_user(*, email: str, password_hash: str, lms_user_id: str) -> ImportedIdentity:
    body = {"email": email, "passwordHash": password_hash, "lmsUserId": lms_user_id}
    answer = call("identity.import_user", body=body, **body)
    return ImportedIdentity(user_id=str(answer["userId"]), created=bool(answer["created"]))


# --- LMS ---------------------------------------------------------------------

@dataclass(frozen=True)
class SsoUser:
    exists: bool
    lms_user_id: str | None = None
    user_types: tuple[str, ...] = ()
    has_active_enrollments: bool = False


def lms_sso_user(*, commerce_user_id: str) -> SsoUser:
    answer = call("lms.sso_user", commerce_user_id=commerce_user_id,
                  headers={"X-Commerce-User-Id": commerce_user_id})
    data = answer.get("data") or {}
    return SsoUser(exists=bool(data.get("exists")), lms_user_id=data.get("lmsUserId"),
                   user_types=tuple(data.get("userTypes") or ()),
                   has_active_enrollments=bool(data.get("hasActiveEnrollments")))


def lms_catalog_export(*, updated_since: str | None = None, product_type: str | None = None,
                       department_id: str | None = None, limit: int | None = None,
                       cursor: str | None = None) -> dict:
    """Spec 6.2.3's ``data`` object: ``{"products": [...], "pagination": {...}}``."""
    params = {k: v for k, v in {"updatedSince": updated_since, "type": product_type,
                                "departmentId": department_id, "limit": limit, "cursor": cursor}.items()
              if v is not None}
    return call("lms.catalog_export", params=params, **params)["data"]


@dataclass(frozen=True)
class LegacyReport:
    legacy_accounts: int
    with_password: int
    migrated: int
    duplicate_emails: tuple[str, ...]


def lms_legacy_report() -> LegacyReport:
    answer = call("lms.legacy_report")
    return LegacyReport(legacy_accounts=answer["legacyAccounts"], with_password=answer["withPassword"],
                        migrated=answer["migrated"], duplicate_emails=tuple(answer["duplicateEmails"]))
