"""The wire routes: for each topic or provider, which side receives it and how it travels.

The local adapter ignores everything but the name; the HTTP adapter uses the
method, path and authentication written here. Paths are the spec's (``000_…``
section 6, ``002_…`` connector 2) and ``shared/API.md``'s.
"""

from dataclasses import dataclass

COMMERCE = "commerce"
LMS = "lms"

SIGNED = "signed"  # section 9.3 headers, HMAC-SHA256 of the raw body
SERVICE_TOKEN = "service_token"  # Authorization: Bearer <service token> with `scope`


@dataclass(frozen=True)
class Route:
    name: str
    receiver: str  # COMMERCE or LMS
    method: str
    path: str  # may hold {name} parameters filled from the payload
    auth: str
    scope: str = ""


# Asynchronous messages, sent through the outbox.
TOPICS: dict[str, Route] = {r.name: r for r in [
    Route("catalog.sync", COMMERCE, "POST", "/api/v1/catalog/sync", SIGNED),
    Route("revenue.events", COMMERCE, "POST", "/api/v1/revenue/events", SIGNED),
    Route("revenue.releases", COMMERCE, "POST", "/api/v1/revenue/releases", SIGNED),
    Route("enrollment.status", COMMERCE, "POST", "/api/v1/webhooks/enrollment-status", SIGNED),
    Route("entitlement", LMS, "POST", "/api/v2/webhooks/commerce/entitlement", SIGNED),
    Route("identity.user_erased", LMS, "POST", "/api/v2/webhooks/commerce/user-erased", SIGNED),
    Route("identity.role_grant", COMMERCE, "POST", "/api/v1/users/{userId}/roles", SERVICE_TOKEN,
          scope="roles:write"),
    Route("identity.role_revoke", COMMERCE, "DELETE", "/api/v1/users/{userId}/roles/{role}", SERVICE_TOKEN,
          scope="roles:write"),
]}

# Synchronous calls, answered at once through a port.
PROVIDERS: dict[str, Route] = {r.name: r for r in [
    Route("identity.validate_token", COMMERCE, "POST", "/api/v1/auth/validate-token", SERVICE_TOKEN,
          scope="tokens:validate"),
    Route("identity.phase", COMMERCE, "GET", "/api/v1/identity/phase", SERVICE_TOKEN, scope="users:read"),
    Route("identity.set_phase", COMMERCE, "POST", "/api/v1/identity/phase", SERVICE_TOKEN, scope="users:migrate"),
    Route("identity.import_user", COMMERCE, "POST", "/api/v1/identity/import-user", SERVICE_TOKEN,
          scope="users:migrate"),
    Route("lms.legacy_report", LMS, "GET", "/api/v2/identity-migration/report", SERVICE_TOKEN, scope="users:read"),
    Route("lms.sso_user", LMS, "GET", "/api/v2/auth/sso/user", SERVICE_TOKEN, scope="users:read"),
    Route("lms.catalog_export", LMS, "GET", "/api/v2/commerce/catalog", SERVICE_TOKEN, scope="catalog:read"),
]}
