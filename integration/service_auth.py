"""Service-to-service tokens (spec 6.3): short-lived JWTs carrying the client id and its scopes.

Identity issues them (it holds the service clients and checks their secrets);
either deployment verifies them locally with SERVICE_TOKEN_SIGNING_KEY, so a
service call needs no round trip to the issuer. Outgoing calls get a token from
the issuer (in process when identity runs here, else over HTTP) and reuse it
until shortly before it expires.
"""

import base64
import hashlib
import json
import time
import uuid
from dataclasses import dataclass

import jwt
from django.conf import settings
from django.core.cache import cache
from rest_framework import authentication, permissions

from integration.errors import ApplicationError, authentication_failed

SERVICE_AUDIENCE = "service"
SERVICE_TOKEN_TYPE = "service"
SERVICE_TOKEN_TTL_SECONDS = 3600
ALGORITHM = "HS256"


class ServiceAuthError(ApplicationError):
    status_code = 401
    code = "invalid_service_token"
    default_message = "The service token is missing, invalid or expired."


class ServiceTokenExpired(ServiceAuthError):
    code = "expired_service_token"
    default_message = "The service token has expired."


class ServiceClientNotConfigured(ServiceAuthError):
    status_code = 503
    code = "service_client_not_configured"
    default_message = "SERVICE_CLIENT_ID and SERVICE_CLIENT_SECRET must be set for service calls."


class ServiceTokenRefused(ServiceAuthError):
    status_code = 503
    code = "service_token_refused"
    default_message = "The token issuer refused this deployment's service client."


class InsufficientScope(ApplicationError):
    status_code = 403
    code = "insufficient_scope"
    default_message = "The token does not carry the scope this endpoint needs."


@dataclass(frozen=True)
class ServicePrincipal:
    """The caller of a service endpoint; stands in for ``request.user``."""

    client_id: str
    scopes: frozenset[str]
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False
    is_service: bool = True

    @property
    def pk(self) -> str:
        return f"service:{self.client_id}"

    id = pk

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def __str__(self) -> str:
        return f"service client {self.client_id}"


def mint_service_token(*, client_id: str, scopes: list[str], now: float | None = None,
                       ttl_seconds: int = SERVICE_TOKEN_TTL_SECONDS, client_bound: bool = False,
                       credentials_version: int = 0) -> str:
    """``client_bound``: the token exchange issued it for a registered client (claim ``cid``, and
    ``cv``, the version of the client's secret), so it is refused once that client is gone,
    inactive or re-keyed (see :func:`service_client_checker_register`)."""
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": settings.JWT_ISSUER,
        "aud": SERVICE_AUDIENCE,
        "sub": client_id,
        "scope": " ".join(sorted(set(scopes))),
        "token_type": SERVICE_TOKEN_TYPE,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    if client_bound:
        claims["cid"] = client_id
        claims["cv"] = int(credentials_version)
    return jwt.encode(claims, settings.SERVICE_TOKEN_SIGNING_KEY, algorithm=ALGORITHM)


class ServiceClientRevoked(ServiceAuthError):
    code = "service_client_revoked"
    default_message = "The service client of this token is inactive or its secret has changed; get a new token."


# (client_id, scopes, credentials_version, client_bound) -> the scopes still granted, or None when the client's
# tokens are refused. Registered by the side that holds the service clients (identity).
_client_checker = None


def service_client_checker_register(checker) -> None:
    global _client_checker
    _client_checker = checker


def is_service_token(token: str) -> bool:
    """A look at the unverified claims, only to route a Bearer token to the right verifier.

    Plain base64 and JSON rather than a second PyJWT decode: this runs on every
    Bearer request, and the real verification follows for service tokens.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return False
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, TypeError):
        return False
    return isinstance(claims, dict) and claims.get("token_type") == SERVICE_TOKEN_TYPE


def verify_service_token(token: str) -> ServicePrincipal:
    try:
        claims = jwt.decode(
            token, settings.SERVICE_TOKEN_SIGNING_KEY, algorithms=[ALGORITHM], audience=SERVICE_AUDIENCE,
            issuer=settings.JWT_ISSUER, options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise ServiceTokenExpired() from None
    except jwt.PyJWTError:
        raise ServiceAuthError() from None
    if claims.get("token_type") != SERVICE_TOKEN_TYPE:
        raise ServiceAuthError()
    scopes = frozenset(claims.get("scope", "").split())
    if _client_checker is not None:
        # The client's current state (cached): inactive or re-keyed refuses, a withdrawn scope is dropped.
        scopes = _client_checker(client_id=claims["sub"], scopes=scopes, credentials_version=claims.get("cv", 0),
                                 client_bound="cid" in claims)
        if scopes is None:
            raise ServiceClientRevoked()
    return ServicePrincipal(client_id=claims["sub"], scopes=scopes)


def bearer_token(request) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class ServiceTokenAuthentication(authentication.BaseAuthentication):
    """Authenticates a Bearer *service* token; leaves user tokens to the next authentication class."""

    def authenticate(self, request):
        token = bearer_token(request)
        if not token or not is_service_token(token):
            return None
        try:
            return verify_service_token(token), token
        except ServiceAuthError as exc:
            raise authentication_failed(exc) from None

    def authenticate_header(self, request):
        return 'Bearer realm="service"'


def principal_of(request) -> ServicePrincipal | None:
    user = getattr(request, "user", None)
    return user if isinstance(user, ServicePrincipal) else None


def require_scope(scope: str) -> type[permissions.BasePermission]:
    """A DRF permission: the caller is a service client holding ``scope``."""

    class HasScope(permissions.BasePermission):
        def has_permission(self, request, view):
            principal = principal_of(request)
            if principal is None:
                return False
            if not principal.has_scope(scope):
                raise InsufficientScope(details={"requiredScope": scope})
            return True

    HasScope.__name__ = f"HasScope[{scope}]"
    return HasScope


def outgoing_service_token(*, scope: str) -> str:
    """A service token with ``scope`` for this deployment's own calls to the other side."""
    client_id, secret = settings.SERVICE_CLIENT_ID, settings.SERVICE_CLIENT_SECRET
    if not client_id or not secret:
        raise ServiceClientNotConfigured()
    cache_key = "svc-token:" + hashlib.sha256(f"{client_id}|{scope}".encode()).hexdigest()
    token = cache.get(cache_key)
    if token:
        return token
    from integration.ports.identity import identity_port

    try:
        issued = identity_port().issue_service_token(client_id=client_id, client_secret=secret, scope=(scope,))
    except ApplicationError as exc:
        raise ServiceTokenRefused(details={"issuerStatus": exc.status_code}) from None
    answer = {"accessToken": issued.access_token, "expiresIn": issued.expires_in}
    # Renew a minute before expiry so a token never dies in flight.
    cache.set(cache_key, answer["accessToken"], max(1, int(answer["expiresIn"]) - 60))
    return answer["accessToken"]
