"""drf-spectacular: identity's Bearer authentication is simplejwt's, described the same way."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class IdentityJWTScheme(SimpleJWTScheme):
    target_class = "identity.authentication.JWTAuthentication"
    name = "userBearer"
