"""The route table: for each topic, port call and cross-side page, which side serves it and where.

The local adapter uses only the name; the HTTP adapter and the cross-side
links use the method, path and authentication written here. Paths are the
spec's (``000_…`` section 6, ``002_…`` connector 2) and ``shared/API.md``'s.

"Is this side served here?" is answered once, by :func:`serves`; every URL of
the other side comes from :func:`url_for`.
"""

import re
from dataclasses import dataclass, field

from django.conf import settings

from integration.topics import Topic

COMMERCE = "commerce"
LMS = "lms"

SIGNED = "signed"  # section 9.3 headers, HMAC-SHA256 of the raw body
SERVICE_TOKEN = "service_token"  # Authorization: Bearer <service token> with `scope`
PUBLIC = "public"  # no authentication (the service-token exchange itself, pages)


@dataclass(frozen=True)
class Route:
    name: str
    receiver: str  # COMMERCE or LMS: the side that serves it
    method: str
    path: str  # may hold {name} parameters filled from the payload or the call's arguments
    auth: str
    scope: str = ""
    # Port calls only: keyword arguments sent as headers instead of query or body ({argument: header}).
    headers: dict[str, str] = field(default_factory=dict)
    # Port calls only: the answer is wrapped as {"success": true, <envelope>: answer} on the wire.
    envelope: str = ""


# Asynchronous messages, sent through the outbox.
TOPICS: dict[str, Route] = {r.name: r for r in [
    Route(Topic.CATALOG_SYNC, COMMERCE, "POST", "/api/v1/catalog/sync", SIGNED),
    Route(Topic.REVENUE_EVENTS, COMMERCE, "POST", "/api/v1/revenue/events", SIGNED),
    Route(Topic.REVENUE_RELEASES, COMMERCE, "POST", "/api/v1/revenue/releases", SIGNED),
    Route(Topic.ENROLLMENT_STATUS, COMMERCE, "POST", "/api/v1/webhooks/enrollment-status", SIGNED),
    Route(Topic.ENTITLEMENT, LMS, "POST", "/api/v2/webhooks/commerce/entitlement", SIGNED),
    Route(Topic.USER_ERASED, LMS, "POST", "/api/v2/webhooks/commerce/user-erased", SIGNED),
    Route(Topic.ROLE_GRANT, COMMERCE, "POST", "/api/v1/users/{userId}/roles", SERVICE_TOKEN, scope="roles:write"),
    Route(Topic.ROLE_REVOKE, COMMERCE, "DELETE", "/api/v1/users/{userId}/roles/{role}", SERVICE_TOKEN,
          scope="roles:write"),
    # Both ends are LMS apps (learning -> revenue), so it travels in process in every deployment.
    Route(Topic.ENROLLMENT_LIFECYCLE, LMS, "POST", "/api/v2/webhooks/lms/enrollment-lifecycle", SIGNED),
    Route(Topic.STAFF_ROLE_CHANGED, LMS, "POST", "/api/v2/webhooks/lms/staff-role-changed", SIGNED),
]}

# Synchronous port calls ("<port>.<method>"), answered at once.
PORT_CALLS: dict[str, Route] = {r.name: r for r in [
    Route("identity.validate_token", COMMERCE, "POST", "/api/v1/auth/validate-token", SERVICE_TOKEN,
          scope="tokens:validate"),
    Route("identity.validate_token_family", COMMERCE, "POST", "/api/v1/auth/validate-token-family", SERVICE_TOKEN,
          scope="tokens:validate"),
    Route("identity.phase", COMMERCE, "GET", "/api/v1/identity/phase", SERVICE_TOKEN, scope="users:read"),
    Route("identity.set_phase", COMMERCE, "POST", "/api/v1/identity/phase", SERVICE_TOKEN, scope="users:migrate"),
    Route("identity.import_user", COMMERCE, "POST", "/api/v1/identity/import-user", SERVICE_TOKEN,
          scope="users:migrate"),
    Route("identity.issue_service_token", COMMERCE, "POST", "/api/v2/auth/service-token", PUBLIC),
    Route("identity.user_find", COMMERCE, "GET", "/api/v1/identity/users/find", SERVICE_TOKEN, scope="users:read"),
    Route("identity.user_get", COMMERCE, "GET", "/api/v1/identity/users/{userId}", SERVICE_TOKEN,
          scope="users:read"),
    Route("identity.platform_payee", COMMERCE, "GET", "/api/v1/identity/platform-payee", SERVICE_TOKEN,
          scope="users:read"),
    Route("payouts.personal_data", COMMERCE, "GET", "/api/v1/payouts/personal-data/{userId}", SERVICE_TOKEN,
          scope="users:read"),
    Route("payouts.ledger_sales", COMMERCE, "GET", "/api/v1/payouts/ledger-sales", SERVICE_TOKEN,
          scope="users:read"),
    Route("learning.legacy_report", LMS, "GET", "/api/v2/identity-migration/report", SERVICE_TOKEN,
          scope="users:read"),
    Route("learning.sso_user", LMS, "GET", "/api/v2/auth/sso/user", SERVICE_TOKEN, scope="users:read",
          headers={"commerce_user_id": "X-Commerce-User-Id"}, envelope="data"),
    Route("learning.catalog_export", LMS, "GET", "/api/v2/commerce/catalog", SERVICE_TOKEN, scope="catalog:read",
          envelope="data"),
    Route("learning.personal_data", LMS, "GET", "/api/v2/integration/personal-data", SERVICE_TOKEN,
          scope="users:read", headers={"commerce_user_id": "X-Commerce-User-Id"}),
    Route("learning.course_get", LMS, "GET", "/api/v2/integration/courses/{externalId}", SERVICE_TOKEN,
          scope="catalog:read"),
    Route("learning.access_check", LMS, "GET", "/api/v2/integration/access-check", SERVICE_TOKEN,
          scope="users:read"),
    Route("learning.interaction_status", LMS, "GET",
          "/api/v2/integration/enrollments/{enrollmentId}/interaction-status", SERVICE_TOKEN, scope="users:read"),
    # POST: the order item ids are a list (a body, not a query string); it reads, it changes nothing.
    Route("learning.enrollments_completed", LMS, "POST", "/api/v2/integration/enrollments/completed", SERVICE_TOKEN,
          scope="users:read"),
    Route("learning.entitlement_lines", LMS, "GET", "/api/v2/integration/entitlement-lines", SERVICE_TOKEN,
          scope="users:read"),
]}

# Pages a browser is sent to across the two sides.
PAGES: dict[str, Route] = {r.name: r for r in [
    Route("learning.sso_begin", LMS, "GET", "/lms/sso/begin", PUBLIC),
    Route("learning.sso_callback", LMS, "POST", "/lms/sso/callback", PUBLIC),
    Route("learning.home", LMS, "GET", "/lms/", PUBLIC),
    Route("identity.sso_start", COMMERCE, "GET", "/account/sso/lms/", PUBLIC),
    Route("identity.login", COMMERCE, "GET", "/account/login/", PUBLIC),
    Route("identity.store_home", COMMERCE, "GET", "/", PUBLIC),
]}


def serves(side: str) -> bool:
    """Whether this deployment runs ``side`` (COMMERCE or LMS): the one place that decides it."""
    return settings.SERVES_COMMERCE if side == COMMERCE else settings.SERVES_LMS


def calls_in_process(side: str) -> bool:
    """Whether calls and messages to ``side`` stay in this process (never when INTEGRATION_FORCE_HTTP)."""
    return serves(side) and not settings.INTEGRATION_FORCE_HTTP


def base_url(side: str) -> str:
    return (settings.COMMERCE_BASE_URL if side == COMMERCE else settings.LMS_BASE_URL).rstrip("/")


def route_named(name: str) -> Route:
    for table in (TOPICS, PORT_CALLS, PAGES):
        if name in table:
            return table[name]
    raise KeyError(f"no route named {name!r}")


def url_for(name: str, *, absolute: bool = False, **path_params: str) -> str:
    """The URL of route ``name``: a path on this site when this deployment serves its side, else the
    other side's base URL plus the path (``absolute`` forces the base URL, e.g. in emails)."""
    route = route_named(name)
    return side_url(route.receiver, route.path.format(**path_params) if path_params else route.path,
                    absolute=absolute)


def django_path(name: str) -> str:
    """Route ``name``'s path as a Django URL pattern (``{userId}`` -> ``<str:userId>``), for the serving app's urls.py."""
    return re.sub(r"\{(\w+)\}", r"<str:\1>", route_named(name).path.lstrip("/"))


def side_url(side: str, path: str, *, absolute: bool = False) -> str:
    """``path`` on ``side``: relative when this deployment serves that side (same host, same cookies)."""
    if serves(side) and not absolute:
        return path
    return base_url(side) + path
