"""Spec 6.1.4: ``POST /api/v1/users/{userId}/roles`` and ``DELETE /api/v1/users/{userId}/roles/{role}``."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from identity.authentication import USER_AUTHENTICATION
from identity.selectors import user_is_commerce_admin
from identity.services.roles import actor_for_service, actor_for_user, role_grant, role_revoke
from integration.contracts import (
    ErrorSerializer,
    GrantRoleRequestSerializer,
    GrantRoleResponseSerializer,
    RevokeRoleRequestSerializer,
)
from integration.service_auth import InsufficientScope, ServiceTokenAuthentication, principal_of

ROLES_SCOPE = "roles:write"
ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer,
          409: ErrorSerializer}


class RolesWriteOrCommerceAdmin(permissions.BasePermission):
    """A service token with ``roles:write``, or a signed-in commerce-admin (or superuser)."""

    def has_permission(self, request, view) -> bool:
        principal = principal_of(request)
        if principal is not None:
            if not principal.has_scope(ROLES_SCOPE):
                raise InsufficientScope(details={"requiredScope": ROLES_SCOPE})
            return True
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        return user.is_superuser or user_is_commerce_admin(user)


def _actor(request) -> str:
    principal = principal_of(request)
    return actor_for_service(principal.client_id) if principal else actor_for_user(request.user)


class _RolesApi(APIView):
    authentication_classes = [ServiceTokenAuthentication, *USER_AUTHENTICATION]
    permission_classes = [RolesWriteOrCommerceAdmin]


class UserRolesApi(_RolesApi):
    @extend_schema(tags=["identity"], request=GrantRoleRequestSerializer,
                   responses={200: GrantRoleResponseSerializer, **ERRORS},
                   summary="Grant a Commerce role (spec 6.1.4); idempotent")
    def post(self, request, userId: str):
        data = GrantRoleRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = role_grant(user_id=userId, role=data.validated_data["role"], reason=data.validated_data["reason"],
                            metadata=data.validated_data.get("metadata") or {}, actor=_actor(request))
        return Response(change.as_wire())


class UserRoleApi(_RolesApi):
    @extend_schema(tags=["identity"], request=RevokeRoleRequestSerializer,
                   parameters=[OpenApiParameter("reason", str, required=False,
                                                description="The reason, when the body cannot carry it")],
                   responses={200: GrantRoleResponseSerializer, **ERRORS},
                   summary="Revoke a Commerce role; idempotent")
    def delete(self, request, userId: str, role: str):
        body = request.data if isinstance(request.data, dict) and request.data else {}
        data = RevokeRoleRequestSerializer(data={"reason": body.get("reason") or request.query_params.get("reason")})
        data.is_valid(raise_exception=True)
        change = role_revoke(user_id=userId, role=role, reason=data.validated_data["reason"], actor=_actor(request))
        return Response(change.as_wire())
