"""``/api/v1/auth/``: sign-in (with the MFA step), refresh, logout, the user, data download, deletion,
and token validation (spec 6.1.1). Registration and password views are dj-rest-auth's."""

from dj_rest_auth.views import PasswordChangeView as DjRestAuthPasswordChangeView
from dj_rest_auth.views import PasswordResetConfirmView as DjRestAuthPasswordResetConfirmView
from django.contrib.auth.models import update_last_login
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from identity.adapter import AccountAdapter, device_cookie_of, device_cookie_set
from identity.api import serializers as s
from identity.authentication import USER_AUTHENTICATION
from identity.selectors import token_family_validate, token_validate, user_mfa_types, user_personal_data
from identity.services import login as login_service
from identity.services.accounts import user_erase_confirmed
from identity.services.login import login_success_record
from identity.services.passwords import user_password_set
from identity.services.registration import registration_submit
from identity.services.tokens import TokenPair, logout, token_pair_issue, token_refresh
from identity.tokens import AccessToken
from integration.contracts import (
    ErrorSerializer,
    ValidateTokenRequestSerializer,
    ValidateTokenResponseSerializer,
)
from integration.openapi import AutoSchema
from integration.service_auth import ServiceTokenAuthentication, require_scope

TAG = ["identity"]
_sensitive = method_decorator(sensitive_post_parameters("password", "password1", "password2", "code"),
                              name="dispatch")
ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 429: ErrorSerializer}


def client_address(request) -> str | None:
    return AccountAdapter(request).client_address(request)


def _tokens_answer(pair: TokenPair, *, user=None, request=None) -> dict:
    answer = {"access": pair.access, "refresh": pair.refresh,
              "accessExpiration": pair.access_expires_at.isoformat(),
              "refreshExpiration": pair.refresh_expires_at.isoformat()}
    if user is not None:
        answer["user"] = s.UserSerializer(user, context={"request": request}).data
    return answer


def _signed_in(request, user) -> Response:
    """The tokens, and a renewed device cookie (a cookie, never in the body: identity.services.login)."""
    login_success_record(email=user.email,
                         device=login_service.device_for(cookie=device_cookie_of(request), email=user.email))
    pair = token_pair_issue(user=user)
    update_last_login(None, user)
    response = Response(_tokens_answer(pair, user=user, request=request))
    device_cookie_set(response, request=request, user=user)
    return response


@_sensitive
class LoginApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=TAG, request=s.LoginInput, summary="Sign in with email and password",
        description="Answers the tokens, or, when the account has MFA, `{mfaRequired: true, mfaToken}` "
                    "for POST /api/v1/auth/login/mfa/. Unknown email and wrong password get the same 400 "
                    "`invalid_credentials`; repeated failures lock the account and the address (429). A "
                    "completed sign-in sets the `idn_device` cookie; presented again with the same email, "
                    "the attempt counts on that device instead (a locked address does not refuse it).",
        responses={200: PolymorphicProxySerializer(component_name="LoginResult",
                                                   serializers=[s.LoginOutput, s.MfaRequiredOutput],
                                                   resource_type_field_name=None), **ERRORS})
    def post(self, request):
        data = s.LoginInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = login_service.credentials_authenticate(
            request=request, email=data.validated_data["email"], password=data.validated_data["password"],
            address=client_address(request), device_cookie=device_cookie_of(request))
        if login_service.mfa_required(user=user):
            return Response({"mfaRequired": True, "mfaToken": login_service.mfa_challenge_issue(user=user),
                             "mfaTypes": user_mfa_types(user=user)})
        return _signed_in(request, user)


@_sensitive
class LoginMfaApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(tags=TAG, request=s.LoginMfaInput, responses={200: s.LoginOutput, **ERRORS},
                   summary="Second sign-in step: a TOTP or recovery code")
    def post(self, request):
        data = s.LoginMfaInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = login_service.mfa_challenge_complete(mfa_token=data.validated_data["mfaToken"],
                                                    code=data.validated_data["code"],
                                                    address=client_address(request),
                                                    device_cookie=device_cookie_of(request))
        return _signed_in(request, user)


class TokenRefreshApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(tags=TAG, request=s.RefreshInput, responses={200: s.TokensOutput, **ERRORS},
                   summary="Rotate a refresh token",
                   description="The presented refresh token is used up. Presenting it again revokes "
                               "its whole family (every token of that sign-in) and answers 401 `token_reused`.")
    def post(self, request):
        data = s.RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(_tokens_answer(token_refresh(refresh=data.validated_data["refresh"])))


class LogoutApi(APIView):
    authentication_classes = USER_AUTHENTICATION
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAG, request=s.LogoutInput, responses={200: s.SuccessOutput, **ERRORS},
                   summary="Sign out: revoke the refresh token and the access tokens of its sign-in")
    def post(self, request):
        data = s.LogoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        access_claims = request.auth.payload if isinstance(request.auth, AccessToken) else None
        logout(user=request.user, refresh=data.validated_data.get("refresh") or None, access_claims=access_claims)
        return Response({"success": True})


class UserApi(APIView):
    authentication_classes = USER_AUTHENTICATION
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAG, responses={200: s.UserSerializer, 401: ErrorSerializer},
                   summary="The signed-in user")
    def get(self, request):
        return Response(s.UserSerializer(request.user, context={"request": request}).data)


class MeExportApi(APIView):
    authentication_classes = USER_AUTHENTICATION
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=TAG, responses={200: s.PersonalDataOutput, 401: ErrorSerializer},
                   summary="Download my personal data (JSON)")
    def get(self, request):
        response = Response(user_personal_data(user=request.user))
        response["Content-Disposition"] = 'attachment; filename="my-data.json"'
        response["Cache-Control"] = "no-store"
        return response


class _DeleteWithBodySchema(AutoSchema):
    """drf-spectacular documents bodies for POST/PUT/PATCH only; this DELETE takes ``{password}``."""

    def _get_request_body(self, direction="request"):
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"


@_sensitive
class MeApi(APIView):
    authentication_classes = USER_AUTHENTICATION
    permission_classes = [IsAuthenticated]
    schema = _DeleteWithBodySchema()

    @extend_schema(tags=TAG, request=s.DeleteAccountInput, responses={204: None, **ERRORS},
                   summary="Delete my account",
                   description="Needs the current password (when the account has one). Personal data is "
                               "erased; orders, ledger and audit records keep the anonymous user id.")
    def delete(self, request):
        data = s.DeleteAccountInput(data=request.data)
        data.is_valid(raise_exception=True)
        user_erase_confirmed(user=request.user, password=data.validated_data.get("password"),
                             address=client_address(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


REGISTERED = ("Thanks. We have sent an email to that address: follow its link to confirm it, then sign in "
              "with POST /api/v1/auth/login/.")


@_sensitive
class RegisterApi(APIView):
    """Sign-up (identity.services.registration): the same 201 whether or not the email already has an
    account, so it reveals nothing; the tokens come from sign-in."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(tags=TAG, request=s.RegisterSerializer,
                   responses={201: s.DetailOutput, 400: ErrorSerializer, 429: ErrorSerializer},
                   summary="Create an account (email and password)",
                   description="201 `{detail}` for any valid request, whether or not the address already has "
                               "an account (its owner is told by email); then sign in for tokens.")
    def post(self, request):
        data = s.RegisterSerializer(data=request.data, context={"request": request, "view": self})
        data.is_valid(raise_exception=True)
        registration_submit(request=request._request, email=data.validated_data["email"],
                            password=data.validated_data["password1"])
        return Response({"detail": REGISTERED}, status=status.HTTP_201_CREATED)


VALIDATE_TOKEN_RESPONSES = {200: ValidateTokenResponseSerializer,
                            401: OpenApiResponse(ErrorSerializer, description="No or bad service token"),
                            403: OpenApiResponse(ErrorSerializer, description="insufficient_scope")}


class ValidateTokenApi(APIView):
    """Spec 6.1.1, for the other service (service token with ``tokens:validate``)."""

    authentication_classes = [ServiceTokenAuthentication]
    permission_classes = [require_scope("tokens:validate")]
    throttle_classes: list = []
    check = staticmethod(token_validate)

    @extend_schema(tags=TAG, request=ValidateTokenRequestSerializer, responses=VALIDATE_TOKEN_RESPONSES,
                   summary="Validate a Commerce access token (spec 6.1.1)")
    def post(self, request):
        # The contract's serializer checks a token character by character in Python; this is the hot
        # path, so the one field is checked here (same rules, same error shape).
        token = request.data.get("token") if isinstance(request.data, dict) else None
        if not isinstance(token, str) or not token.strip():
            raise ValidationError({"token": ["A token (string) is required."]})
        return Response(self.check(token=token.strip()))


class ValidateTokenFamilyApi(ValidateTokenApi):
    """Whether the family of a genuine access token is still live, even once the token has expired: how
    the LMS keeps an SSO session only as long as the store sign-in it came from."""

    check = staticmethod(token_family_validate)

    @extend_schema(tags=TAG, request=ValidateTokenRequestSerializer, responses=VALIDATE_TOKEN_RESPONSES,
                   summary="Is an access token's family still live (expiresAt: the family's absolute expiry)")
    def post(self, request):
        return super().post(request)


class PasswordChangeApi(DjRestAuthPasswordChangeView):
    """dj-rest-auth's checks (old password, validators); the change itself is identity's one service,
    which revokes every other sign-in of the user (this one, the caller's token family, stays)."""

    authentication_classes = USER_AUTHENTICATION

    @extend_schema(tags=TAG, summary="Change my password (ends my other sessions)",
                   responses={200: s.DetailOutput, **ERRORS})
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        keep = request.auth.payload.get("fam") if isinstance(request.auth, AccessToken) else None
        user_password_set(user=request.user, password=serializer.validated_data["new_password1"],
                          reason="password_changed", keep_family_id=keep)
        return Response({"detail": "New password has been saved."})


class PasswordResetConfirmApi(DjRestAuthPasswordResetConfirmView):
    """dj-rest-auth's uid and key checks; the new password through identity's one service (every
    token family of the user is revoked)."""

    @extend_schema(tags=TAG, summary="Set a new password from the reset email's uid and key",
                   responses={200: s.DetailOutput, **ERRORS})
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user_password_set(user=serializer.user, password=serializer.validated_data["new_password1"],
                          reason="password_reset")
        return Response({"detail": "Password has been reset with the new password."})
