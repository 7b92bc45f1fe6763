"""``IdentityPort``: what the rest of the system asks Commerce's identity app (served on the Commerce side).

Declared here, implemented by ``identity/providers.py`` (``LocalIdentity``, registered in
``IdentityConfig.ready()``), served over HTTP at the paths of ``routes.PORT_CALLS["identity.*"]``.
"""

import hashlib
import re
import time
from abc import abstractmethod

from django.conf import settings
from django.core.cache import caches

from integration.contracts.identity import (
    IdentityPhase,
    ImportedIdentity,
    ServiceToken,
    TokenValidation,
    UserRef,
)
from integration.ports.base import Port, port_for
from integration.routes import COMMERCE

# Three base64url segments: anything else is refused without a call and never cached.
_JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
TOKEN_CACHE_ALIAS = "default"


class IdentityPort(Port):
    name = "identity"
    side = COMMERCE

    @abstractmethod
    def validate_token(self, *, token: str) -> TokenValidation:
        """Spec 6.1.1: is this Commerce access token valid, and whose is it."""

    @abstractmethod
    def validate_token_family(self, *, token: str) -> TokenValidation:
        """Is the family of this genuine access token still live, even if the token has expired
        (validate-token's shape; ``expiresAt`` is the family's absolute expiry)."""

    @abstractmethod
    def phase(self) -> IdentityPhase:
        """The identity migration phase (spec section 10)."""

    @abstractmethod
    def set_phase(self, *, phase: int, reason: str) -> IdentityPhase:
        """Moves to ``phase`` (refused, with the reason, when its preconditions fail)."""

    @abstractmethod
    def import_user(self, *, email: str, password_hash: str, lms_user_id: str) -> ImportedIdentity:
        """Phase 3: a Commerce identity for a legacy LMS account, keeping its password hash."""

    @abstractmethod
    def issue_service_token(self, *, client_id: str, client_secret: str, scope: tuple[str, ...]) -> ServiceToken:
        """Spec 6.3: a short-lived service token for a service client."""

    @abstractmethod
    def user_find(self, *, email: str) -> UserRef:
        """The Commerce user with this email (``user_not_found`` if none)."""

    @abstractmethod
    def user_get(self, *, user_id: str) -> UserRef:
        """The Commerce user with this id (``user_not_found`` if none)."""

    @abstractmethod
    def platform_payee(self) -> UserRef:
        """The account the platform's share of every sale is booked to."""


def identity_port() -> IdentityPort:
    return port_for(IdentityPort)


INVALID_FORMAT = TokenValidation.from_wire(
    {"valid": False, "error": {"code": "INVALID_TOKEN", "message": "The token is malformed."}})


def validate_token_cached(*, token: str, now: float | None = None) -> TokenValidation:
    """Spec 6.1.1 through the port, cached (option B + C of spec 5.1).

    A "valid" answer is kept for ``TOKEN_VALIDATION_CACHE_SECONDS`` but never past the
    token's own expiry, so a revoked token stops working within that time and an
    expired one at once. A token that is not even shaped like a JWT is refused
    without a call and without a cache entry (junk cannot fill the cache).
    """
    return _validated_cached(token=token, kind="tokval", now=now, call=lambda: identity_port().validate_token(
        token=token))


def validate_token_family_cached(*, token: str, now: float | None = None) -> TokenValidation:
    """:meth:`IdentityPort.validate_token_family` through the port, cached like
    :func:`validate_token_cached` (never past the family's absolute expiry)."""
    return _validated_cached(token=token, kind="tokfam", now=now, call=lambda: identity_port().validate_token_family(
        token=token))


def _validated_cached(*, token: str, kind: str, now: float | None, call) -> TokenValidation:
    if not _JWT_SHAPE.match(token or "") or len(token) > 8192:
        return INVALID_FORMAT
    cache = caches[TOKEN_CACHE_ALIAS]
    key = f"{kind}:" + hashlib.sha256(token.encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return cached
    result = call()
    ttl = settings.TOKEN_VALIDATION_CACHE_SECONDS
    if result.valid and result.expires_at is not None:
        ttl = min(ttl, int(result.expires_at.timestamp() - (now if now is not None else time.time())))
    if ttl > 0:
        cache.set(key, result, ttl)
    return result
