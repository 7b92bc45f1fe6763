"""Reads: token validation (spec 6.1.1), roles, the migration phase, a person's data."""

import logging
from datetime import UTC, datetime

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.utils import timezone

from identity import caching
from identity.caching import ROLE_ORDER
from identity.models import (
    IdentityPhase,
    LmsAccountLink,
    Role,
    RoleAuditLog,
    TokenFamily,
    User,
    UserRole,
)
from identity.tokens import ACCESS, TokenExpired, TokenInvalid, decode
from integration.errors import ApplicationError
from integration.ports import PortNotImplementedError
from integration.ports.learning import learning_port
from integration.ports.orders import orders_port
from integration.ports.payouts import payouts_port

logger = logging.getLogger(__name__)

INVALID_TOKEN = "INVALID_TOKEN"
EXPIRED_TOKEN = "EXPIRED_TOKEN"
REVOKED_TOKEN = "REVOKED_TOKEN"
_MESSAGES = {
    INVALID_TOKEN: "The token is not a valid access token.",
    EXPIRED_TOKEN: "The token has expired.",
    REVOKED_TOKEN: "The token has been revoked.",
}


def _refused(code: str) -> dict:
    return {"valid": False, "error": {"code": code, "message": _MESSAGES[code]}}


def token_validate(*, token: str) -> dict:
    """Spec 6.1.1's ValidateTokenResponse for an access token (a store token, or the SSO handoff
    token, whose audience is the LMS's).

    The hot path is a local signature check and one read of the security cache
    (the family's revocation state and the user's public identity): no database
    query while it is warm, one on a miss (:func:`identity.caching.token_state`).
    A token that fails the format or signature check touches neither.
    """
    try:
        claims = decode(token, token_type=ACCESS, audiences=validation_audiences())
    except TokenExpired:
        return _refused(EXPIRED_TOKEN)
    except TokenInvalid:
        return _refused(INVALID_TOKEN)
    revoked, identity = caching.token_state(family_id=claims["fam"], user_id=claims["sub"])
    if revoked:
        return _refused(REVOKED_TOKEN)
    if identity is None:
        return _refused(INVALID_TOKEN)
    if not identity["active"]:
        return _refused(REVOKED_TOKEN)
    return {"valid": True, "user": {"id": identity["id"], "email": identity["email"],
                                    "commerceRoles": list(identity["commerceRoles"])},
            "expiresAt": datetime.fromtimestamp(claims["exp"], tz=UTC)}


def token_family_validate(*, token: str) -> dict:
    """Is the family of this access token still live, whether or not the token itself has expired?

    For the LMS session opened by an SSO handoff: its access token lives an hour, the session longer,
    and the family (tied to the storefront session) is what a logout, a password change or an erasure
    revokes. The token must be genuine (signature, audience, issuer, type); only its expiry is not
    checked. Answers validate-token's shape, ``expiresAt`` being the family's absolute expiry (past it,
    ``EXPIRED_TOKEN``). Costs the cache read of :func:`token_validate` and one primary-key read.
    """
    try:
        claims = decode(token, token_type=ACCESS, audiences=validation_audiences(), verify_exp=False)
    except (TokenExpired, TokenInvalid):
        return _refused(INVALID_TOKEN)
    revoked, identity = caching.token_state(family_id=claims["fam"], user_id=claims["sub"])
    if revoked or (identity is not None and not identity["active"]):
        return _refused(REVOKED_TOKEN)
    if identity is None:
        return _refused(INVALID_TOKEN)
    absolute = TokenFamily.objects.filter(pk=claims["fam"]).values_list("absolute_expires_at", flat=True).first()
    if absolute is None:
        return _refused(REVOKED_TOKEN)
    if absolute <= timezone.now():
        return _refused(EXPIRED_TOKEN)
    return {"valid": True, "user": {"id": identity["id"], "email": identity["email"],
                                    "commerceRoles": list(identity["commerceRoles"])},
            "expiresAt": absolute}


def validation_audiences() -> tuple[str, ...]:
    return (settings.JWT_AUDIENCE, settings.JWT_SSO_AUDIENCE)


def user_roles(*, user_id) -> list[str]:
    """Commerce roles in their canonical order, ``purchaser`` first (every user has it)."""
    return _in_role_order(set(UserRole.objects.filter(user_id=user_id).values_list("role", flat=True)))


def _in_role_order(stored: set) -> list[str]:
    return [role for role in ROLE_ORDER if role == Role.PURCHASER or role in stored]


def active_user_with_roles(*, user_id) -> tuple[str, str, list[str]] | None:
    """An active user's id, email and commerce roles (:func:`user_roles`), in one query (the user joined
    to their roles, a row per role); ``None`` if there is no such active user."""
    rows = list(User.objects.filter(pk=user_id, is_active=True).values_list("pk", "email", "commerce_roles__role"))
    if not rows:
        return None
    pk, email, _ = rows[0]
    return str(pk), email, _in_role_order({role for _, _, role in rows if role})


def user_is_commerce_admin(user) -> bool:
    """For permission checks on a live request; served from the public-identity cache."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    if getattr(user, "is_service", False):
        return False
    cached = getattr(user, "_identity_is_commerce_admin", None)
    if cached is None:
        identity = caching.user_identity(str(user.pk))
        cached = bool(identity and Role.COMMERCE_ADMIN.value in identity["commerceRoles"])
        user._identity_is_commerce_admin = cached
    return cached


def user_email_verified(*, user: User) -> bool:
    return EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()


def user_mfa_types(*, user: User) -> list[str]:
    return sorted(Authenticator.objects.filter(user=user).values_list("type", flat=True))


def user_has_mfa(*, user: User) -> bool:
    return Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]).exists()


def identity_phase_get() -> int:
    row = IdentityPhase.objects.filter(pk=1).values_list("phase", flat=True).first()
    return int(row or IdentityPhase.Phase.FOUNDATION)


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _personal_data_ports(*, user_id: str):
    """The other apps' parts of the data download, each asked through its port."""
    return [
        ("orders", lambda: orders_port().personal_data(user_id=user_id)),
        ("payouts", lambda: payouts_port().personal_data(user_id=user_id)),
        ("lms", lambda: learning_port().personal_data(commerce_user_id=user_id)),
    ]


def user_personal_data(*, user: User) -> dict:
    """Everything identity holds about a person, as JSON (the data download), plus what orders,
    payouts and the LMS hold, each through its port."""
    data = {
        "exportedAt": timezone.now().isoformat(),
        "user": {
            "id": str(user.id),
            "email": user.email,
            "dateJoined": _iso(user.date_joined),
            "lastLogin": _iso(user.last_login),
            "isActive": user.is_active,
        },
        "commerceRoles": user_roles(user_id=user.id),
        "emailAddresses": [
            {"email": row.email, "verified": row.verified, "primary": row.primary}
            for row in EmailAddress.objects.filter(user=user).order_by("id")
        ],
        "mfa": [
            {"type": row.type, "createdAt": _iso(row.created_at), "lastUsedAt": _iso(row.last_used_at)}
            for row in Authenticator.objects.filter(user=user).order_by("id")
        ],
        "roleHistory": [
            {"action": row.action, "role": row.role, "reason": row.reason, "metadata": row.metadata,
             "changed": row.changed, "at": _iso(row.created_at)}
            for row in RoleAuditLog.objects.filter(user_id=user.id).order_by("id")
        ],
        "sessions": [
            {"id": str(row.id), "kind": row.kind, "createdAt": _iso(row.created_at),
             "revokedAt": _iso(row.revoked_at)}
            for row in TokenFamily.objects.filter(user=user).order_by("created_at")
        ],
        "lmsAccounts": [
            {"lmsUserId": row.lms_user_id, "linkedAt": _iso(row.linked_at)}
            for row in LmsAccountLink.objects.filter(user=user).order_by("id")
        ],
    }
    for section, ask in _personal_data_ports(user_id=str(user.id)):
        try:
            data[section] = ask().to_wire()
        except PortNotImplementedError:
            continue  # that app is not part of this deployment
        except ApplicationError as exc:
            logger.warning("personal data from %s failed: %s", section, exc.code)
            data[section] = {"error": exc.code}
    return data
