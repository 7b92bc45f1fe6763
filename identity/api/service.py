"""Service-to-service endpoints: the token exchange (spec 6.3) and the identity migration calls."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from identity.api import serializers as s
from identity.providers import LocalIdentity
from identity.selectors import identity_phase_get
from identity.services.accounts import identity_import_user
from identity.services.phases import identity_phase_set
from identity.services.roles import actor_for_service
from identity.services.service_clients import service_token_issue
from integration.client_address import client_address
from integration.contracts import ErrorSerializer
from integration.contracts.identity import UserFindQuerySerializer, UserRefSerializer
from integration.ports import port_wire_answer
from integration.service_auth import ServiceTokenAuthentication, require_scope

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 409: ErrorSerializer,
          429: ErrorSerializer}


class ServiceTokenApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(tags=["service"], request=s.ServiceTokenInput, responses={200: s.ServiceTokenOutput, **ERRORS},
                   summary="Exchange service credentials for a service token (spec 6.3)")
    def post(self, request):
        data = s.ServiceTokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        answer = service_token_issue(client_id=data.validated_data["clientId"],
                                     client_secret=data.validated_data["clientSecret"],
                                     scope=data.validated_data["scope"], address=client_address(request))
        return Response(answer, headers={"Cache-Control": "no-store"})


class IdentityPhaseApi(APIView):
    authentication_classes = [ServiceTokenAuthentication]
    throttle_classes: list = []

    def get_permissions(self):
        scope = "users:read" if self.request.method in ("GET", "HEAD", "OPTIONS") else "users:migrate"
        return [require_scope(scope)()]

    @extend_schema(tags=["service"], responses={200: s.PhaseOutput, **ERRORS},
                   summary="The identity migration phase (scope users:read)")
    def get(self, request):
        return Response({"phase": identity_phase_get()})

    @extend_schema(tags=["service"], request=s.PhaseInput, responses={200: s.PhaseOutput, **ERRORS},
                   summary="Move the identity migration phase one step (scope users:migrate)")
    def post(self, request):
        data = s.PhaseInput(data=request.data)
        data.is_valid(raise_exception=True)
        change = identity_phase_set(phase=data.validated_data["phase"], reason=data.validated_data["reason"],
                                    actor=actor_for_service(request.user.client_id))
        return Response({"phase": change.to_phase})


class ImportUserApi(APIView):
    authentication_classes = [ServiceTokenAuthentication]
    permission_classes = [require_scope("users:migrate")]
    throttle_classes: list = []

    @extend_schema(tags=["service"], request=s.ImportUserInput,
                   responses={200: s.ImportUserOutput, 201: s.ImportUserOutput, **ERRORS},
                   summary="Create (or link) the Commerce identity of a legacy LMS account (phase 3)")
    def post(self, request):
        data = s.ImportUserInput(data=request.data)
        data.is_valid(raise_exception=True)
        imported = identity_import_user(email=data.validated_data["email"],
                                        password_hash=data.validated_data["passwordHash"],
                                        lms_user_id=data.validated_data["lmsUserId"])
        return Response(imported.as_wire(), status=status.HTTP_201_CREATED if imported.created else status.HTTP_200_OK)


class _UserLookupApi(APIView):
    """The ``IdentityPort`` user look-ups over HTTP (scope users:read); same answers as in process."""

    authentication_classes = [ServiceTokenAuthentication]
    permission_classes = [require_scope("users:read")]
    throttle_classes: list = []


class UserFindApi(_UserLookupApi):
    @extend_schema(tags=["service"], parameters=[UserFindQuerySerializer], responses={200: UserRefSerializer, 404: ErrorSerializer, **ERRORS},
                   summary="The Commerce user with this email (scope users:read)")
    def get(self, request):
        query = UserFindQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(port_wire_answer("identity.user_find",
                                         LocalIdentity().user_find(email=query.validated_data["email"])))


class UserGetApi(_UserLookupApi):
    @extend_schema(tags=["service"], responses={200: UserRefSerializer, 404: ErrorSerializer, **ERRORS},
                   summary="The Commerce user with this id (scope users:read)")
    def get(self, request, userId: str):
        return Response(port_wire_answer("identity.user_get", LocalIdentity().user_get(user_id=userId)))


class PlatformPayeeApi(_UserLookupApi):
    @extend_schema(tags=["service"], responses={200: UserRefSerializer, 404: ErrorSerializer, **ERRORS},
                   summary="The platform's own payee account (scope users:read)")
    def get(self, request):
        return Response(port_wire_answer("identity.platform_payee", LocalIdentity().platform_payee()))
