"""Shapes of identity's API (camelCase on the wire), and the hooks dj-rest-auth is configured with."""

from allauth.account.adapter import get_adapter
from dj_rest_auth.registration.serializers import RegisterSerializer as DjRestAuthRegisterSerializer
from dj_rest_auth.serializers import (
    PasswordResetConfirmSerializer as DjRestAuthPasswordResetConfirmSerializer,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from identity import selectors
from identity.models import SERVICE_SCOPES
from identity.services.tokens import TokenPair, token_pair_issue


class UserSerializer(serializers.Serializer):
    """``GET /api/v1/auth/user/``: ``{id, email, commerceRoles, emailVerified, mfaEnabled, dateJoined}``."""

    id = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True)
    commerceRoles = serializers.SerializerMethodField()
    emailVerified = serializers.SerializerMethodField()
    mfaEnabled = serializers.SerializerMethodField()
    dateJoined = serializers.DateTimeField(source="date_joined", read_only=True)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_commerceRoles(self, user) -> list[str]:
        return selectors.user_roles(user_id=user.pk)

    def get_emailVerified(self, user) -> bool:
        return selectors.user_email_verified(user=user)

    def get_mfaEnabled(self, user) -> bool:
        return selectors.user_has_mfa(user=user)


class RegisterSerializer(DjRestAuthRegisterSerializer):
    """Email-only sign-up: ``{email, password1, password2}``."""

    username = None

    def validate_email(self, email):
        """Never "already registered": the answer must not say which addresses have accounts."""
        return get_adapter().clean_email(email)

    def get_cleaned_data(self):
        return {"password1": self.validated_data.get("password1", ""),
                "email": self.validated_data.get("email", "")}


class TokenFamilyIssuer:
    """dj-rest-auth's JWT_TOKEN_CLAIMS_SERIALIZER: its ``get_token(user)`` opens a token family."""

    @classmethod
    def get_token(cls, user) -> TokenPair:
        return token_pair_issue(user=user)


class TokenPairSerializer(serializers.Serializer):
    """dj-rest-auth's JWT_SERIALIZER (the registration answer): ``{access, refresh, user}``."""

    access = serializers.CharField()
    refresh = serializers.CharField()
    user = UserSerializer()


class PasswordResetConfirmSerializer(DjRestAuthPasswordResetConfirmSerializer):
    """Validation only: the view sets the password through ``identity.services.passwords``."""

    def validate(self, attrs):
        try:
            return super().validate(attrs)
        except DjangoValidationError:  # a uid that decodes to no UUID: the same answer as an unknown one
            raise serializers.ValidationError({"uid": ["Invalid value"]}) from None

    def save(self):
        # dj-rest-auth's save would set the password directly, revoking nothing; the view goes through the
        # password service instead, so a call here is a wiring mistake and must fail loudly.
        raise RuntimeError("set the new password with identity.services.passwords.user_password_set "
                           "(PasswordResetConfirmApi does), not with this serializer")


class DetailOutput(serializers.Serializer):
    detail = serializers.CharField()


# --- sign-in -------------------------------------------------------------------

class LoginInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


class TokensOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    accessExpiration = serializers.DateTimeField()
    refreshExpiration = serializers.DateTimeField()


class LoginOutput(TokensOutput):
    user = UserSerializer()


class MfaRequiredOutput(serializers.Serializer):
    mfaRequired = serializers.BooleanField()
    mfaToken = serializers.CharField(help_text="Send it with a code to /api/v1/auth/login/mfa/ within 5 minutes.")
    mfaTypes = serializers.ListField(child=serializers.CharField())


class LoginMfaInput(serializers.Serializer):
    mfaToken = serializers.CharField(max_length=1024)
    code = serializers.CharField(max_length=64, help_text="A TOTP code or an unused recovery code.")


class RefreshInput(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class LogoutInput(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096, required=False, allow_blank=True)


class SuccessOutput(serializers.Serializer):
    success = serializers.BooleanField()


class DeleteAccountInput(serializers.Serializer):
    password = serializers.CharField(max_length=4096, trim_whitespace=False, required=False, allow_blank=True)


class PersonalDataOutput(serializers.Serializer):
    exportedAt = serializers.DateTimeField()
    user = serializers.DictField()
    commerceRoles = serializers.ListField(child=serializers.CharField())
    emailAddresses = serializers.ListField(child=serializers.DictField())
    mfa = serializers.ListField(child=serializers.DictField())
    roleHistory = serializers.ListField(child=serializers.DictField())
    sessions = serializers.ListField(child=serializers.DictField())
    lmsAccounts = serializers.ListField(child=serializers.DictField())


# --- service-to-service -----------------------------------------------------------

@extend_schema_field({"type": "string", "enum": list(SERVICE_SCOPES)})
class ScopeField(serializers.CharField):
    """A scope name; the schema shows the enum, and an unknown name answers 400 ``invalid_scope`` (from
    the service, with the known names in its details) rather than a generic validation error."""


class ServiceTokenInput(serializers.Serializer):
    clientId = serializers.CharField(max_length=100)
    clientSecret = serializers.CharField(max_length=1024, trim_whitespace=False)
    scope = serializers.ListField(child=ScopeField(max_length=64), allow_empty=False, max_length=20,
                                  help_text="A list (not a space-separated string) of scope names.")


class ServiceTokenOutput(serializers.Serializer):
    accessToken = serializers.CharField()
    expiresIn = serializers.IntegerField()
    scope = serializers.ListField(child=ScopeField())


class PhaseOutput(serializers.Serializer):
    phase = serializers.IntegerField(min_value=1, max_value=3)


class PhaseInput(serializers.Serializer):
    phase = serializers.IntegerField(min_value=1, max_value=3)
    reason = serializers.CharField(max_length=1000)


class ImportUserInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    passwordHash = serializers.CharField(max_length=512, trim_whitespace=False)
    lmsUserId = serializers.CharField(max_length=255)


class ImportUserOutput(serializers.Serializer):
    userId = serializers.CharField()
    created = serializers.BooleanField()
