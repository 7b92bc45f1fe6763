from django.urls import path

from learning import views
from learning.api import views as api

urlpatterns = [
    path("lms/", views.my_courses, name="lms-home"),
    path("lms/sso/", views.sso_landing, name="lms-sso"),
    path("lms/sso/begin", views.sso_begin, name="lms-sso-begin"),
    path("lms/sso/callback", views.sso_callback, name="lms-sso-callback"),
    path("lms/login/", views.legacy_login_page, name="lms-legacy-login"),
    path("lms/logout/", views.logout, name="lms-logout"),
    path("api/v2/me/", api.MeApi.as_view(), name="lms-api-me"),
    path("api/v2/auth/sso/user", api.SsoUserApi.as_view(), name="lms-api-sso-user"),
    path("api/v2/auth/legacy-login", api.LegacyLoginApi.as_view(), name="lms-api-legacy-login"),
    path("api/v2/identity-migration/report", api.LegacyReportApi.as_view(), name="lms-api-legacy-report"),
]
