"""The LMS's service endpoints: the catalog export (spec 6.2.3) and the HTTP side of the newer LearningPort calls.

Each answers ``port_wire_answer`` of the same ``LocalLearning`` method the in-process port runs,
so both transports give the same shape.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.contracts import (
    AccessAnswerSerializer,
    AccessCheckQuerySerializer,
    CatalogExportQuerySerializer,
    CatalogExportResponseSerializer,
    CourseInfoSerializer,
    EnrollmentsCompletedQuerySerializer,
    EnrollmentsCompletedSerializer,
    EntitlementLinePageSerializer,
    EntitlementLinesQuerySerializer,
    ErrorSerializer,
    InteractionStatusSerializer,
    LearningPersonalDataSerializer,
    validate_with,
)
from integration.errors import MissingHeaderError
from integration.ports import port_wire_answer
from integration.service_auth import ServiceTokenAuthentication, require_scope
from learning.providers import LocalLearning

ERROR = ErrorSerializer


class CatalogExportApi(APIView):
    """Spec 6.2.3: publishable courses, programs and classes, oldest change first, keyset-paginated."""

    authentication_classes = [ServiceTokenAuthentication]
    permission_classes = [require_scope("catalog:read")]

    @extend_schema(operation_id="lms_catalog_export", tags=["lms integration"],
                   summary="Product catalog export (spec 6.2.3)", parameters=[CatalogExportQuerySerializer],
                   responses={200: CatalogExportResponseSerializer, 400: ERROR, 401: ERROR, 403: ERROR})
    def get(self, request):
        query = validate_with(CatalogExportQuerySerializer, request.query_params.dict())
        page = LocalLearning().catalog_export(
            updated_since=query.get("updatedSince"), type=query.get("type"), department_id=query.get("departmentId"),
            limit=query.get("limit"), cursor=query.get("cursor"))
        return Response(port_wire_answer("learning.catalog_export", page))


class PersonalDataApi(APIView):
    authentication_classes = [ServiceTokenAuthentication]
    permission_classes = [require_scope("users:read")]
    HEADER = "X-Commerce-User-Id"

    @extend_schema(operation_id="lms_personal_data", tags=["lms integration"],
                   summary="What the LMS holds about one Commerce user (data download)",
                   parameters=[OpenApiParameter(HEADER, str, OpenApiParameter.HEADER, required=True)],
                   responses={200: LearningPersonalDataSerializer, 400: ERROR, 401: ERROR, 403: ERROR})
    def get(self, request):
        commerce_user_id = request.headers.get(self.HEADER, "").strip()
        if not commerce_user_id or len(commerce_user_id) > 64:
            raise MissingHeaderError(f"The {self.HEADER} header is required (at most 64 characters).",
                                     details={"header": self.HEADER})
        return Response(port_wire_answer("learning.personal_data",
                                         LocalLearning().personal_data(commerce_user_id=commerce_user_id)))


class CourseGetApi(APIView):
    authentication_classes = [ServiceTokenAuthentication]
    permission_classes = [require_scope("catalog:read")]

    @extend_schema(operation_id="lms_course_get", tags=["lms integration"],
                   summary="A course with its department and staff (Commerce ids and roles)",
                   responses={200: CourseInfoSerializer, 401: ERROR, 403: ERROR, 404: ERROR})
    def get(self, request, externalId: str):
        return Response(port_wire_answer("learning.course_get", LocalLearning().course_get(external_id=externalId)))


class AccessCheckApi(APIView):
    authentication_classes = [ServiceTokenAuthentication]
    permission_classes = [require_scope("users:read")]

    @extend_schema(operation_id="lms_access_check", tags=["lms integration"],
                   summary="The LMS permission function for another app", parameters=[AccessCheckQuerySerializer],
                   responses={200: AccessAnswerSerializer, 400: ERROR, 401: ERROR, 403: ERROR})
    def get(self, request):
        query = validate_with(AccessCheckQuerySerializer, request.query_params.dict())
        answer = LocalLearning().access_check(lms_user_id=query["lmsUserId"], right=query["right"],
                                              course_id=query.get("courseId"))
        return Response(port_wire_answer("learning.access_check", answer))


class InteractionStatusApi(APIView):
    authentication_classes = [ServiceTokenAuthentication]
    permission_classes = [require_scope("users:read")]

    @extend_schema(operation_id="lms_interaction_status", tags=["lms integration"],
                   summary="The instructor interaction requirement of one enrollment (002)",
                   parameters=[OpenApiParameter("enrollmentId", OpenApiTypes.UUID, OpenApiParameter.PATH)],
                   responses={200: InteractionStatusSerializer, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR})
    def get(self, request, enrollmentId: str):
        return Response(port_wire_answer("learning.interaction_status",
                                         LocalLearning().interaction_status(enrollment_id=enrollmentId)))


class EnrollmentsCompletedApi(APIView):
    """Commerce's refund check: per order item of a buyer, whether its enrollment is completed."""

    authentication_classes = [ServiceTokenAuthentication]
    permission_classes = [require_scope("users:read")]

    @extend_schema(operation_id="lms_enrollments_completed", tags=["lms integration"],
                   summary="Whether the enrollments of these order items are completed (refund check)",
                   request=EnrollmentsCompletedQuerySerializer,
                   responses={200: EnrollmentsCompletedSerializer, 400: ERROR, 401: ERROR, 403: ERROR})
    def post(self, request):
        query = validate_with(EnrollmentsCompletedQuerySerializer, request.data)
        answer = LocalLearning().enrollments_completed(commerce_user_id=query["commerceUserId"],
                                                       order_item_ids=query["orderItemIds"])
        return Response(port_wire_answer("learning.enrollments_completed", answer))


class EntitlementLinesApi(APIView):
    """Commerce's reconciliation: every order line the LMS has handled, with its enrollment, one keyset page."""

    authentication_classes = [ServiceTokenAuthentication]
    permission_classes = [require_scope("users:read")]

    @extend_schema(operation_id="lms_entitlement_lines", tags=["lms integration"],
                   summary="The order lines the LMS holds and their enrollments (reconcile enrollments)",
                   parameters=[EntitlementLinesQuerySerializer],
                   responses={200: EntitlementLinePageSerializer, 400: ERROR, 401: ERROR, 403: ERROR})
    def get(self, request):
        query = validate_with(EntitlementLinesQuerySerializer, request.query_params.dict())
        return Response(port_wire_answer("learning.entitlement_lines", LocalLearning().entitlement_lines(
            after=query.get("after"), limit=query.get("limit"))))
