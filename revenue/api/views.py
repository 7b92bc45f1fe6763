"""``GET|PUT /api/v2/courses/{id}/revenue-config/`` (shared/API.md) and the same for programs."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.contracts import ErrorSerializer
from integration.parsers import JSONParser
from revenue import remote
from revenue.api.authentication import CommerceBearerCaller, LmsSessionCaller
from revenue.errors import RevenueConfigForbidden, RevenueConfigNotFound
from revenue.models import Basis, ReleasePolicy, RevenueConfig
from revenue.selectors import revenue_config_history, revenue_config_in_force, revenue_config_latest
from revenue.services.configs import ConfigChange, revenue_config_set


def _share_field(**kwargs):
    return serializers.DecimalField(max_digits=5, decimal_places=4, min_value=0, max_value=1, **kwargs)


def _split(value) -> str:
    return f"{value:.4f}"


@extend_schema_serializer(component_name="RevenueConfig")
class ConfigOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    productType = serializers.CharField(source="product_type")
    externalId = serializers.CharField(source="external_id")
    title = serializers.CharField(source="product_title")
    instructorEmail = serializers.CharField(source="instructor_email")
    instructorCommerceUserId = serializers.CharField(source="instructor_commerce_user_id")
    instructorSplit = serializers.SerializerMethodField()
    creatorEmail = serializers.CharField(source="creator_email")
    creatorCommerceUserId = serializers.CharField(source="creator_commerce_user_id")
    creatorSplit = serializers.SerializerMethodField()
    affiliateEmail = serializers.CharField(source="affiliate_email")
    affiliateCommerceUserId = serializers.CharField(source="affiliate_commerce_user_id")
    affiliateSplit = serializers.SerializerMethodField()
    platformCommerceUserId = serializers.CharField(source="platform_commerce_user_id")
    platformSplit = serializers.SerializerMethodField()
    basis = serializers.CharField()
    releasePolicy = serializers.CharField(source="release_policy")
    effectiveDate = serializers.DateField(source="effective_date")
    endDate = serializers.DateField(source="end_date", allow_null=True)
    supersededAt = serializers.DateTimeField(source="superseded_at", allow_null=True)
    changedBy = serializers.CharField(source="changed_by_email")
    createdAt = serializers.DateTimeField(source="created_at")

    def get_instructorSplit(self, config: RevenueConfig) -> str:
        return _split(config.instructor_split)

    def get_creatorSplit(self, config: RevenueConfig) -> str:
        return _split(config.creator_split)

    def get_affiliateSplit(self, config: RevenueConfig) -> str:
        return _split(config.affiliate_split)

    def get_platformSplit(self, config: RevenueConfig) -> str:
        return _split(config.platform_split)


@extend_schema_serializer(component_name="RevenueConfigWithHistory")
class ConfigWithHistorySerializer(ConfigOutputSerializer):
    history = ConfigOutputSerializer(many=True)


class RevenueConfigApi(APIView):
    """The revenue config in force (or the one that will be) of one course or program, and a new version."""

    authentication_classes = [CommerceBearerCaller, LmsSessionCaller]
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]
    product_type = "course"

    @extend_schema_serializer(component_name="RevenueConfigInput")
    class InputSerializer(serializers.Serializer):
        instructorEmail = serializers.EmailField(required=False, allow_blank=True, allow_null=True)
        instructorSplit = _share_field()
        creatorEmail = serializers.EmailField(required=False, allow_blank=True, allow_null=True)
        creatorSplit = _share_field()
        platformSplit = _share_field()
        affiliateSplit = _share_field(required=False, default=0)
        affiliateEmail = serializers.EmailField(required=False, allow_blank=True, allow_null=True)
        basis = serializers.ChoiceField(Basis.values, required=False, default=Basis.NET)
        releasePolicy = serializers.ChoiceField(ReleasePolicy.values, required=False, default=ReleasePolicy.ON_SALE)
        effectiveDate = serializers.DateField(required=False, allow_null=True)

    def _check(self, request, external_id: str) -> None:
        caller = request.user
        if not remote.revenue_access_check(lms_user_id=caller.lms_user_id,
                                           product_type=self.product_type, external_id=external_id):
            raise RevenueConfigForbidden(details={"productType": self.product_type, "externalId": external_id})

    def _answer(self, config: RevenueConfig, *, status: int = 200) -> Response:
        history = revenue_config_history(product_type=config.product_type, external_id=config.external_id)[:50]
        data = {**ConfigOutputSerializer(config).data, "history": ConfigOutputSerializer(history, many=True).data}
        return Response(data, status=status)

    @extend_schema(tags=["revenue"],
                   summary="The revenue config in force (or the next one), with its history",
                   parameters=[OpenApiParameter("on", OpenApiTypes.DATE,
                                               description="A date (YYYY-MM-DD): the version in force then")],
                   responses={200: ConfigWithHistorySerializer, 401: ErrorSerializer, 403: ErrorSerializer,
                              404: ErrorSerializer})
    def get(self, request, external_id: str):
        self._check(request, external_id)
        on = serializers.DateField().to_internal_value(request.query_params["on"]) \
            if request.query_params.get("on") else timezone.now().date()
        config = (revenue_config_in_force(product_type=self.product_type, external_id=external_id, on=on)
                  or (None if request.query_params.get("on") else
                      revenue_config_latest(product_type=self.product_type, external_id=external_id)))
        if config is None:
            raise RevenueConfigNotFound(details={"productType": self.product_type, "externalId": external_id})
        return self._answer(config)

    @extend_schema(tags=["revenue"],
                   summary="A new version of the revenue config from effectiveDate (today by default)",
                   request=InputSerializer,
                   responses={200: ConfigWithHistorySerializer, 400: ErrorSerializer, 401: ErrorSerializer,
                              403: ErrorSerializer, 409: ErrorSerializer, 422: ErrorSerializer})
    def put(self, request, external_id: str):
        self._check(request, external_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        change = ConfigChange(
            instructor_email=data.get("instructorEmail") or "", instructor_split=data["instructorSplit"],
            creator_email=data.get("creatorEmail") or "", creator_split=data["creatorSplit"],
            affiliate_email=data.get("affiliateEmail") or "", affiliate_split=data["affiliateSplit"],
            platform_split=data["platformSplit"], basis=data["basis"], release_policy=data["releasePolicy"],
            effective_date=data.get("effectiveDate"))
        config = revenue_config_set(product_type=self.product_type, external_id=external_id, change=change,
                                    now=timezone.now(), actor_lms_user_id=request.user.lms_user_id,
                                    actor_email=request.user.email)
        return self._answer(config)


@extend_schema_view(get=extend_schema(operation_id="course_revenue_config_get"),
                    put=extend_schema(operation_id="course_revenue_config_put"))
class CourseRevenueConfigApi(RevenueConfigApi):
    product_type = "course"


@extend_schema_view(get=extend_schema(operation_id="program_revenue_config_get"),
                    put=extend_schema(operation_id="program_revenue_config_put"))
class ProgramRevenueConfigApi(RevenueConfigApi):
    product_type = "program"
