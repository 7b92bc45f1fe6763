"""The LMS API (``/api/v2/``) of this issue: who am I, the SSO look-up, legacy login, the migration report."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.contracts import ErrorSerializer, SSOUserResponseSerializer
from integration.errors import MissingHeaderError
from integration.parsers import JSONParser
from integration.ports import port_wire_answer
from integration.service_auth import ServiceTokenAuthentication, require_scope
from learning.authentication import CommerceBearerAuthentication, LmsSessionAuthentication
from learning.providers import LocalLearning
from learning.services.legacy import MAX_PASSWORD_LENGTH, legacy_login
from learning.sessions import lms_session_open
from learning.web import client_ip

ERROR = ErrorSerializer


class MeApi(APIView):
    authentication_classes = [CommerceBearerAuthentication, LmsSessionAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="LmsMe")
    class OutputSerializer(serializers.Serializer):
        lmsUserId = serializers.UUIDField(source="id")
        commerceUserId = serializers.CharField(source="commerce_user_id", allow_null=True)
        email = serializers.EmailField()
        userTypes = serializers.ListField(child=serializers.CharField(), source="user_types")

    @extend_schema(operation_id="lms_me", tags=["lms"], summary="The LMS user behind this token or session",
                   responses={200: OutputSerializer, 401: ERROR})
    def get(self, request):
        return Response(self.OutputSerializer(request.user).data)


class SsoUserApi(APIView):
    """Spec 6.2.1: does this Commerce user exist in the LMS? For Commerce, with a service token."""

    authentication_classes = [ServiceTokenAuthentication]
    permission_classes = [require_scope("users:read")]
    HEADER = "X-Commerce-User-Id"

    @extend_schema(operation_id="lms_sso_user", tags=["lms integration"], summary="SSO user look-up (spec 6.2.1)",
                   parameters=[OpenApiParameter(HEADER, str, OpenApiParameter.HEADER, required=True,
                                                description="The Commerce user id to look up.")],
                   responses={200: SSOUserResponseSerializer, 400: ERROR, 401: ERROR, 403: ERROR})
    def get(self, request):
        commerce_user_id = request.headers.get(self.HEADER, "").strip()
        if not commerce_user_id or len(commerce_user_id) > 64:
            raise MissingHeaderError(f"The {self.HEADER} header is required (at most 64 characters).",
                                     details={"header": self.HEADER})
        return Response(port_wire_answer("learning.sso_user", LocalLearning().sso_user(commerce_user_id=commerce_user_id)))


class LegacyLoginApi(APIView):
    """A legacy LMS account logs in with its LMS password (identity phases 1 and 2; before migration)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    # JSON only: a cross-site form cannot send it, so a third party cannot log a browser in.
    parser_classes = [JSONParser]

    @extend_schema_serializer(component_name="LmsLegacyLoginRequest")
    class InputSerializer(serializers.Serializer):
        email = serializers.CharField(max_length=254)
        password = serializers.CharField(max_length=MAX_PASSWORD_LENGTH, trim_whitespace=False)

    @extend_schema_serializer(component_name="LmsLegacyLoginResponse")
    class OutputSerializer(serializers.Serializer):
        lmsUserId = serializers.UUIDField(source="id")
        email = serializers.EmailField()

    @extend_schema(operation_id="lms_legacy_login", tags=["lms"], summary="Legacy LMS login (opens an LMS session)",
                   request=InputSerializer,
                   responses={200: OutputSerializer, 400: ERROR, 401: ERROR, 409: ERROR, 429: ERROR})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = legacy_login(email=data.validated_data["email"], password=data.validated_data["password"],
                            ip=client_ip(request))
        lms_session_open(request._request, lms_user=user)
        return Response(self.OutputSerializer(user).data)


class LegacyReportApi(APIView):
    """How far the identity migration has come; what identity's phase command checks before phase 3."""

    authentication_classes = [ServiceTokenAuthentication]
    permission_classes = [require_scope("users:read")]

    @extend_schema_serializer(component_name="LmsLegacyReport")
    class OutputSerializer(serializers.Serializer):
        legacyAccounts = serializers.IntegerField()
        withPassword = serializers.IntegerField()
        migrated = serializers.IntegerField()
        duplicateEmails = serializers.ListField(child=serializers.CharField())

    @extend_schema(operation_id="lms_identity_migration_report", tags=["lms integration"],
                   summary="Legacy LMS accounts: how many, how many migrated, duplicate emails",
                   responses={200: OutputSerializer, 401: ERROR, 403: ERROR})
    def get(self, request):
        return Response(port_wire_answer("learning.legacy_report", LocalLearning().legacy_report()))
