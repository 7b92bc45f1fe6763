from django.urls import path

from revenue.api import views as api
from revenue.views import pages

urlpatterns = [
    path("lms/revenue/", pages.config_list, name="revenue-config-list"),
    path("lms/revenue/<str:product_type>/<str:external_id>/", pages.config_edit, name="revenue-config-edit"),
    path("lms/earnings/", pages.my_earnings, name="revenue-earnings"),
    path("api/v2/courses/<str:external_id>/revenue-config/", api.CourseRevenueConfigApi.as_view(),
         name="revenue-api-course-config"),
    path("api/v2/programs/<str:external_id>/revenue-config/", api.ProgramRevenueConfigApi.as_view(),
         name="revenue-api-program-config"),
]
