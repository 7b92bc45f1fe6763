"""URLs of this deployment: the apps that SERVICE_ROLE serves, each with its own ``urls.py``."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import views
from integration import ops

served_apps = ["integration"]
if settings.SERVES_COMMERCE:
    served_apps += settings.COMMERCE_APPS
if settings.SERVES_LMS:
    served_apps += settings.LMS_APPS

urlpatterns = [
    path("healthz", ops.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("metrics", ops.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: the Content-Security-Policy allows no inline script.
    path("api/v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("", views.home, name="home"),
    *[path("", include(f"{app}.urls")) for app in served_apps],
]

handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.page_not_found
handler500 = views.server_error
