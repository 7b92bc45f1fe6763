"""Identity's contracts (Commerce receives): token validation (6.1.1), role grants (6.1.4),
the migration calls, service tokens (6.3) and user look-ups; and erasure, which the LMS receives."""

from datetime import datetime

from rest_framework import serializers

from integration.contracts.base import (
    OpenSerializer,
    WireModel,
    _id,
)
from integration.contracts.base import dataclasses as _dc

frozen = _dc.dataclass(frozen=True)


# --- 6.1.1 Token validation (synchronous) -----------------------------------

class ValidateTokenRequestSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=8192, trim_whitespace=True)


class ValidatedUserSerializer(serializers.Serializer):
    id = _id()
    email = serializers.EmailField()
    commerceRoles = serializers.ListField(child=serializers.CharField())


class TokenErrorSerializer(serializers.Serializer):
    code = serializers.ChoiceField(["INVALID_TOKEN", "EXPIRED_TOKEN", "REVOKED_TOKEN"])
    message = serializers.CharField()


class ValidateTokenResponseSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    user = ValidatedUserSerializer(required=False)
    error = TokenErrorSerializer(required=False)
    # Additive: the token's own expiry (ISO 8601 UTC, as every timestamp), so a caller never caches
    # "valid" past it.
    expiresAt = serializers.DateTimeField(required=False)



@frozen
class ValidatedUser(WireModel):
    id: str
    email: str
    commerce_roles: tuple[str, ...] = ()


@frozen
class TokenError(WireModel):
    code: str
    message: str


@frozen
class TokenValidation(WireModel):
    """Spec 6.1.1's answer. ``expires_at`` (additive) lets a caller cache a "valid" no longer than the token lives."""

    valid: bool
    user: ValidatedUser | None = None
    error: TokenError | None = None
    expires_at: datetime | None = None

    @property
    def user_id(self) -> str | None:
        return self.user.id if self.user else None

    @property
    def email(self) -> str | None:
        return self.user.email if self.user else None

    @property
    def commerce_roles(self) -> tuple[str, ...]:
        return self.user.commerce_roles if self.user else ()

    @property
    def error_code(self) -> str | None:
        return self.error.code if self.error else None

    @property
    def error_message(self) -> str | None:
        return self.error.message if self.error else None


# --- 6.1.4 Role grant (and its revocation) -----------------------------------

COMMERCE_GRANTABLE_ROLES = ["payee", "commerce-admin"]


class GrantRoleMetadataSerializer(OpenSerializer):
    lmsUserId = _id()
    courseIds = serializers.ListField(child=_id(), required=False)


class GrantRoleRequestSerializer(serializers.Serializer):
    """The body of ``POST /api/v1/users/{userId}/roles``."""

    role = serializers.ChoiceField(COMMERCE_GRANTABLE_ROLES)
    reason = serializers.CharField(max_length=1000)
    metadata = GrantRoleMetadataSerializer(required=False, allow_null=True)


class RoleGrantMessageSerializer(GrantRoleRequestSerializer):
    """The outbox message: the body plus ``userId``, which travels in the URL path."""

    userId = _id()


class RevokeRoleRequestSerializer(serializers.Serializer):
    """The body of ``DELETE /api/v1/users/{userId}/roles/{role}``."""

    reason = serializers.CharField(max_length=1000)


class RoleRevokeMessageSerializer(RevokeRoleRequestSerializer):
    userId = _id()
    role = serializers.ChoiceField(COMMERCE_GRANTABLE_ROLES)


class GrantRoleUserSerializer(serializers.Serializer):
    id = _id()
    commerceRoles = serializers.ListField(child=serializers.CharField())


class GrantRoleResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    user = GrantRoleUserSerializer()



@frozen
class RoleGrant(WireModel):
    """Topic ``identity.role_grant``: the 6.1.4 body plus ``userId``, which travels in the URL path."""

    user_id: str
    role: str
    reason: str
    metadata: dict | None = None


@frozen
class RoleRevoke(WireModel):
    user_id: str
    role: str
    reason: str


@frozen
class RoleUser(WireModel):
    id: str
    commerce_roles: tuple[str, ...] = ()


@frozen
class RoleChange(WireModel):
    success: bool
    user: RoleUser


# --- Identity migration calls (LMS -> Commerce) -------------------------------

class PhaseQuerySerializer(serializers.Serializer):
    pass


class PhaseSerializer(serializers.Serializer):
    phase = serializers.IntegerField(min_value=1, max_value=3)


class SetPhaseRequestSerializer(serializers.Serializer):
    phase = serializers.IntegerField(min_value=1, max_value=3)
    reason = serializers.CharField(max_length=1000)


class ImportUserRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    passwordHash = serializers.CharField(max_length=512, trim_whitespace=False)
    lmsUserId = _id()


class ImportUserResponseSerializer(serializers.Serializer):
    userId = _id()
    created = serializers.BooleanField()


@frozen
class IdentityPhase(WireModel):
    phase: int


@frozen
class ImportedIdentity(WireModel):
    user_id: str
    created: bool


# --- 6.3 Service tokens --------------------------------------------------------

class ServiceTokenRequestSerializer(serializers.Serializer):
    clientId = serializers.CharField(max_length=100)
    clientSecret = serializers.CharField(max_length=1024, trim_whitespace=False)
    scope = serializers.ListField(child=serializers.CharField(max_length=64), allow_empty=False, max_length=20)


class ServiceTokenResponseSerializer(serializers.Serializer):
    accessToken = serializers.CharField()
    expiresIn = serializers.IntegerField(min_value=1)
    scope = serializers.ListField(child=serializers.CharField())


@frozen
class ServiceToken(WireModel):
    access_token: str
    expires_in: int
    scope: tuple[str, ...] = ()


# --- User look-ups (LMS -> Commerce): staff by email, payees, the platform's account ---

class UserFindQuerySerializer(serializers.Serializer):
    email = serializers.EmailField()


class UserGetQuerySerializer(serializers.Serializer):
    userId = _id()


class UserRefSerializer(serializers.Serializer):
    id = _id()
    email = serializers.EmailField()
    commerceRoles = serializers.ListField(child=serializers.CharField())


@frozen
class UserRef(WireModel):
    id: str
    email: str
    commerce_roles: tuple[str, ...] = ()


# --- Identity erasure (Commerce -> LMS) --------------------------------------

class UserErasedSerializer(serializers.Serializer):
    idempotencyKey = _id()
    commerceUserId = _id()
    erasedAt = serializers.DateTimeField()


class UserErasedResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()



@frozen
class UserErased(WireModel):
    idempotency_key: str
    commerce_user_id: str
    erased_at: datetime


@frozen
class Acknowledged(WireModel):
    success: bool
