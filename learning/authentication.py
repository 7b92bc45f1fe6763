"""How LMS API callers prove who they are.

* ``CommerceBearerAuthentication``: a Commerce *user* access token (mobile clients, the
  storefront's scripts) validated through the identity port (phase 2 and later) →
  the ``LmsUser`` as ``request.user``, the ``TokenValidation`` as ``request.auth``.
  Service tokens are left to ``integration.service_auth.ServiceTokenAuthentication``.
* ``LmsSessionAuthentication``: the LMS session of the LMS pages' own scripts, with CSRF.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from integration.errors import authentication_failed
from integration.service_auth import bearer_token, is_service_token
from learning.errors import InvalidCommerceToken, LmsAccountInactive, SsoNotEnabled
from learning.services.sso import sso_authenticate
from learning.sessions import current_lms_user


class CommerceBearerAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        token = bearer_token(request)
        if not token or is_service_token(token):
            return None
        try:
            return sso_authenticate(token=token)
        except (SsoNotEnabled, InvalidCommerceToken, LmsAccountInactive) as exc:
            raise authentication_failed(exc) from None

    def authenticate_header(self, request):
        return 'Bearer realm="lms"'


class LmsSessionAuthentication(authentication.BaseAuthentication):
    """The LMS session cookie; unsafe methods need the CSRF token, as with DRF's SessionAuthentication."""

    def authenticate(self, request):
        user = current_lms_user(request._request)
        if user is None:
            return None
        self.enforce_csrf(request)
        return user, None

    def enforce_csrf(self, request):
        check = authentication.CSRFCheck(lambda request: None)
        check.process_request(request)
        reason = check.process_view(request, None, (), {})
        if reason:
            raise exceptions.PermissionDenied(f"CSRF Failed: {reason}")


class CommerceBearerScheme(OpenApiAuthenticationExtension):
    target_class = "learning.authentication.CommerceBearerAuthentication"
    name = "commerceBearer"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "A Commerce access token (validated through the identity port)."}


class LmsSessionScheme(OpenApiAuthenticationExtension):
    target_class = "learning.authentication.LmsSessionAuthentication"
    name = "lmsSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid",
                "description": "The LMS session of the LMS pages (CSRF token required on writes)."}
