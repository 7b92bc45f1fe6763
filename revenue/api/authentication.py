"""Who calls the revenue API: an LMS user, by the LMS session of the pages or a Commerce Bearer token.

``request.lms_user`` is set by the learning app's session middleware (a request attribute, no
import of that app); a Bearer token is validated through the identity port and mapped to its
LMS account through the learning port's SSO look-up.
"""

from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from integration.service_auth import bearer_token, is_service_token
from revenue import remote


@dataclass(frozen=True)
class LmsCaller:
    """``request.user`` of the revenue API: just what the permission check and the pages need."""

    lms_user_id: str
    commerce_user_id: str
    email: str
    user_types: tuple[str, ...] = ()

    is_authenticated = True
    is_anonymous = False

    @property
    def pk(self) -> str:
        return self.lms_user_id


def caller_of(lms_user) -> LmsCaller | None:
    """The page's ``request.lms_user`` as an :class:`LmsCaller` (``None`` when nobody is logged in)."""
    if not lms_user or not getattr(lms_user, "is_authenticated", False):
        return None
    return LmsCaller(lms_user_id=str(lms_user.pk), commerce_user_id=str(lms_user.commerce_user_id or ""),
                     email=lms_user.email, user_types=tuple(lms_user.user_types or ()))


class LmsSessionCaller(authentication.BaseAuthentication):
    def authenticate(self, request):
        caller = caller_of(getattr(request._request, "lms_user", None))
        if caller is None:
            return None
        self.enforce_csrf(request)
        return caller, None

    def enforce_csrf(self, request):
        check = authentication.CSRFCheck(lambda request: None)
        check.process_request(request)
        reason = check.process_view(request, None, (), {})
        if reason:
            raise exceptions.PermissionDenied(f"CSRF Failed: {reason}")


class CommerceBearerCaller(authentication.BaseAuthentication):
    def authenticate(self, request):
        token = bearer_token(request)
        if not token or is_service_token(token):
            return None
        caller = remote.lms_caller_from_token(token=token)
        if caller is None:
            raise exceptions.AuthenticationFailed("The token is not valid, or its user has no LMS account.")
        return LmsCaller(**caller), None

    def authenticate_header(self, request):
        return 'Bearer realm="lms"'


class LmsSessionCallerScheme(OpenApiAuthenticationExtension):
    target_class = "revenue.api.authentication.LmsSessionCaller"
    name = "revenueLmsSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid",
                "description": "The LMS session of the LMS pages (CSRF token required on writes)."}


class CommerceBearerCallerScheme(OpenApiAuthenticationExtension):
    target_class = "revenue.api.authentication.CommerceBearerCaller"
    name = "revenueCommerceBearer"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "A Commerce access token (validated through the identity port)."}
