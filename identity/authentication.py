"""Bearer access tokens for DRF, with plain error messages (simplejwt's own packs a dict into the detail)."""

from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleJWTAuthentication
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError

from identity.tokens import AccessToken


class JWTAuthentication(SimpleJWTAuthentication):
    def get_validated_token(self, raw_token):
        try:
            return AccessToken(raw_token)
        except ExpiredTokenError:
            raise AuthenticationFailed("The access token has expired.", code="token_expired") from None
        except TokenError as exc:
            revoked = "revoked" in str(exc.args[0] if exc.args else "")
            raise AuthenticationFailed("The access token has been revoked." if revoked else "The access token is not valid.",
                               code="token_revoked" if revoked else "token_not_valid") from None


USER_AUTHENTICATION = [JWTAuthentication, SessionAuthentication]
