"""Bearer access tokens for DRF, with plain error messages (simplejwt's own packs a dict into the detail)."""

import uuid

from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleJWTAuthentication
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError

from identity.errors import TokenExpired, TokenRefused, TokenRevoked
from identity.tokens import AccessToken
from integration.errors import authentication_failed, plain_message


class JWTAuthentication(SimpleJWTAuthentication):
    def get_validated_token(self, raw_token):
        try:
            return AccessToken(raw_token)
        except ExpiredTokenError:
            raise authentication_failed(TokenExpired("The access token has expired.")) from None
        except TokenError as exc:
            if "revoked" in str(exc.args[0] if exc.args else ""):
                raise authentication_failed(TokenRevoked("The access token has been revoked.")) from None
            raise authentication_failed(TokenRefused("The access token is not valid.")) from None

    def get_user(self, validated_token):
        # A subject that is not a user id (a UUID) is a bad token, not a database error.
        try:
            uuid.UUID(str(validated_token.get("sub", "")))
        except ValueError:
            raise authentication_failed(TokenRefused("The access token is not valid.")) from None
        try:
            return super().get_user(validated_token)
        except AuthenticationFailed as exc:  # simplejwt's user_not_found / user_inactive, in plain words
            raise authentication_failed(TokenRefused(plain_message(exc.detail))) from None


USER_AUTHENTICATION = [JWTAuthentication, SessionAuthentication]
