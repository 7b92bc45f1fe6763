"""Identity's URLs, included at the root (full paths here; those the other side calls come from the route table)."""

from allauth.account import views as allauth_views
from dj_rest_auth.registration.views import VerifyEmailView
from django.urls import include, path, re_path
from drf_spectacular.utils import extend_schema, extend_schema_view

from identity.api import auth, email_limits, roles, service
from identity.api.serializers import DetailOutput
from identity.views import pages
from integration.contracts.base import ErrorSerializer
from integration.routes import django_path
from integration.topics import Topic


def _documented(view, summary: str, responses=None):
    """dj-rest-auth's views, tagged and summarised in the OpenAPI schema like identity's own (a subclass:
    drf-spectacular's own dj-rest-auth extension replaces the original class's schema)."""
    subclass = type(view.__name__, (view,), {"__module__": __name__})
    return extend_schema_view(post=extend_schema(tags=["identity"], summary=summary, responses=responses))(subclass)


urlpatterns = [
    # --- API: accounts and tokens (paths exactly as shared/API.md writes them) ---
    path("api/v1/auth/registration/", auth.RegisterApi.as_view(), name="rest_register"),
    path("api/v1/auth/registration/verify-email/", _documented(
        VerifyEmailView, "Confirm an email address with the key from the confirmation email",
        responses={200: DetailOutput, 400: ErrorSerializer, 404: ErrorSerializer}).as_view(),
        name="rest_verify_email"),
    path("api/v1/auth/registration/resend-email/", email_limits.ResendEmailVerificationApi.as_view(),
         name="rest_resend_email"),
    path("api/v1/auth/login/", auth.LoginApi.as_view(), name="rest_login"),
    path("api/v1/auth/login/mfa/", auth.LoginMfaApi.as_view(), name="rest_login_mfa"),
    path("api/v1/auth/token/refresh/", auth.TokenRefreshApi.as_view(), name="token_refresh"),
    path("api/v1/auth/logout/", auth.LogoutApi.as_view(), name="rest_logout"),
    path("api/v1/auth/user/", auth.UserApi.as_view(), name="rest_user_details"),
    path("api/v1/auth/me/export", auth.MeExportApi.as_view(), name="identity-me-export"),
    path("api/v1/auth/me", auth.MeApi.as_view(), name="identity-me"),
    path("api/v1/auth/password/reset/", email_limits.PasswordResetApi.as_view(), name="rest_password_reset"),
    path("api/v1/auth/password/reset/confirm/", auth.PasswordResetConfirmApi.as_view(),
         name="rest_password_reset_confirm"),
    path("api/v1/auth/password/change/", auth.PasswordChangeApi.as_view(),
         name="rest_password_change"),
    path(django_path("identity.validate_token"), auth.ValidateTokenApi.as_view(), name="identity-validate-token"),
    path(django_path("identity.validate_token_family"), auth.ValidateTokenFamilyApi.as_view(),
         name="identity-validate-token-family"),
    # --- API: roles (spec 6.1.4) ---
    path(django_path(Topic.ROLE_GRANT), roles.UserRolesApi.as_view(), name="identity-user-roles"),
    path(django_path(Topic.ROLE_REVOKE), roles.UserRoleApi.as_view(), name="identity-user-role"),
    # --- API: service-to-service ---
    path(django_path("identity.issue_service_token"), service.ServiceTokenApi.as_view(), name="identity-service-token"),
    path(django_path("identity.phase"), service.IdentityPhaseApi.as_view(), name="identity-phase"),
    path(django_path("identity.import_user"), service.ImportUserApi.as_view(), name="identity-import-user"),
    path(django_path("identity.user_find"), service.UserFindApi.as_view(), name="identity-user-find"),
    path(django_path("identity.user_get"), service.UserGetApi.as_view(), name="identity-user-get"),
    path(django_path("identity.platform_payee"), service.PlatformPayeeApi.as_view(), name="identity-platform-payee"),
    # --- pages ---
    path("account/", pages.account_home, name="account-home"),
    path("account/data/", pages.account_data, name="account-data"),
    path("account/delete/", pages.account_delete, name="account-delete"),
    path(django_path("identity.sso_start"), pages.lms_sso_start, name="lms-sso-start"),
    # dj-rest-auth's password reset email links to a page of this name: allauth's reset-from-key page.
    re_path(r"^account/password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$",
            allauth_views.password_reset_from_key, name="password_reset_confirm"),
    path("account/", include("allauth.urls")),
]
