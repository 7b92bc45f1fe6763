"""Payouts API (shared/API.md "payouts"): balance, ledger, payouts, monthly statements; the PayoutsPort endpoint.

A payee sees only their own account. A commerce-admin may name another payee
(``?payee=<userId>``) or the platform's own account (``?payee=platform``).
"""

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.contracts import validate_with
from integration.contracts.base import ErrorSerializer, MoneyField
from integration.contracts.payouts import (
    LedgerSalePageSerializer,
    LedgerSalesQuerySerializer,
    PayoutsPersonalDataSerializer,
)
from integration.pagination import CursorPagination
from integration.ports import port_wire_answer
from integration.service_auth import ServiceTokenAuthentication, require_scope
from payouts import remote, selectors
from payouts.api.serializers import (
    BalanceOutput,
    LedgerEntryOutput,
    LedgerPageOutput,
    PayoutOutput,
    PayoutPageOutput,
)
from payouts.errors import LedgerForbiddenError
from payouts.filters import LedgerFilter, PayoutFilter
from payouts.models import Account, LedgerPosting, Payout, RevenueLedgerEntry
from payouts.permissions import is_commerce_admin
from payouts.services.payouts import payout_create
from payouts.statements import statement_csv, statement_period
from payouts.tasks import send_payout

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
PAYEE = OpenApiParameter("payee", str, description="commerce-admins only: a payee's user id, or `platform`")
LEDGER_FILTERS = [
    OpenApiParameter("currency", str), OpenApiParameter("type", str, enum=RevenueLedgerEntry.Type.values),
    OpenApiParameter("account", str, enum=Account.values),
    OpenApiParameter("kind", str, enum=LedgerPosting.Kind.values),
    OpenApiParameter("q", str, description="search in event, order and product ids and reasons"),
    OpenApiParameter("since", OpenApiTypes.DATE), OpenApiParameter("until", OpenApiTypes.DATE),
]


def payee_of(request) -> str:
    """Whose account this request reads: the caller's own, or (commerce-admins) the one named by ``?payee=``."""
    wanted = request.query_params.get("payee", "").strip()
    if not wanted or wanted == str(request.user.pk):
        return str(request.user.pk)
    if not is_commerce_admin(request.user):
        raise LedgerForbiddenError(details={"payee": wanted})
    if wanted == "platform":
        return remote.platform_payee_id() or "platform"
    return wanted


class LedgerPagination(CursorPagination):
    ordering = "-id"


class PayoutPagination(CursorPagination):
    ordering = ("-created_at", "-id")


class BalanceApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(tags=["payouts"], summary="Available and pending balance (O(1): one row)",
                   parameters=[PAYEE, OpenApiParameter("currency", str)], responses={200: BalanceOutput, **ERRORS})
    def get(self, request):
        currency = (request.query_params.get("currency") or "").upper() or None
        balance = selectors.balance_get(payee_user_id=payee_of(request), currency=currency)
        return Response(BalanceOutput(balance).data)


class LedgerApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(tags=["payouts"], summary="Ledger entries, newest first (cursor-paginated)",
                   parameters=[PAYEE, *LEDGER_FILTERS, OpenApiParameter("limit", int), OpenApiParameter("cursor", str)],
                   responses={200: LedgerPageOutput, **ERRORS})
    def get(self, request):
        filtered = LedgerFilter(request.query_params, queryset=selectors.ledger_entries(payee_user_id=payee_of(request)))
        if not filtered.is_valid():
            raise serializers.ValidationError(filtered.errors)
        paginator = LedgerPagination()
        page = paginator.paginate_queryset(filtered.qs, request, view=self)
        return paginator.get_paginated_response(LedgerEntryOutput(page, many=True).data)


class PayoutListApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema_serializer(component_name="PayoutRequestInput")
    class Input(serializers.Serializer):
        currency = serializers.RegexField(r"^[A-Z]{3}$", default="USD")
        amount = MoneyField(required=False, help_text="default: the whole available balance")

    @extend_schema(tags=["payouts"], summary="Payouts, newest first",
                   parameters=[PAYEE, OpenApiParameter("status", str, enum=Payout.Status.values),
                               OpenApiParameter("currency", str), OpenApiParameter("limit", int),
                               OpenApiParameter("cursor", str)],
                   responses={200: PayoutPageOutput, **ERRORS})
    def get(self, request):
        filtered = PayoutFilter(request.query_params, queryset=selectors.payouts_of(payee_user_id=payee_of(request)))
        if not filtered.is_valid():
            raise serializers.ValidationError(filtered.errors)
        paginator = PayoutPagination()
        page = paginator.paginate_queryset(filtered.qs, request, view=self)
        return paginator.get_paginated_response(PayoutOutput(page, many=True).data)

    @extend_schema(tags=["payouts"], summary="Pay out now from the available balance (422 with the reason if not)",
                   request=Input, responses={201: PayoutOutput, 422: ErrorSerializer, **ERRORS})
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        payout = payout_create(payee_user_id=str(request.user.pk), currency=data.validated_data["currency"],
                               amount=data.validated_data.get("amount"), now=timezone.now())
        send_payout.delay(payout_id=str(payout.id))
        payout.refresh_from_db()
        return Response(PayoutOutput(payout).data, status=status.HTTP_201_CREATED)


class StatementCsvApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(tags=["payouts"], summary="A month's statement as CSV (period YYYY-MM)", parameters=[PAYEE],
                   responses={(200, "text/csv"): OpenApiTypes.STR, **ERRORS})
    def get(self, request, period: str):
        year, month = statement_period(period)
        response = HttpResponse(statement_csv(payee_user_id=payee_of(request), year=year, month=month),
                                content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="statement-{period}.csv"'
        return response


class PersonalDataApi(APIView):
    """``PayoutsPort.personal_data`` over HTTP (scope users:read); the same answer as in process."""

    authentication_classes = [ServiceTokenAuthentication]
    permission_classes = [require_scope("users:read")]
    throttle_classes: list = []

    @extend_schema(tags=["service"], summary="A payee's earnings and payouts for their data download",
                   responses={200: PayoutsPersonalDataSerializer, **ERRORS})
    def get(self, request, userId: str):
        from payouts.providers import LocalPayouts

        return Response(port_wire_answer("payouts.personal_data", LocalPayouts().personal_data(user_id=userId)))


class LedgerSalesApi(APIView):
    """``PayoutsPort.ledger_sales`` over HTTP (scope users:read): the ledger's sales and refunds, one keyset page,
    for ``reconcile sales``; the same answer as in process."""

    authentication_classes = [ServiceTokenAuthentication]
    permission_classes = [require_scope("users:read")]
    throttle_classes: list = []

    @extend_schema(tags=["service"], summary="The ledger's sales and refunds, one keyset page (reconcile sales)",
                   parameters=[LedgerSalesQuerySerializer], responses={200: LedgerSalePageSerializer, **ERRORS})
    def get(self, request):
        from payouts.providers import LocalPayouts

        query = validate_with(LedgerSalesQuerySerializer, request.query_params.dict())
        answer = port_wire_answer("payouts.ledger_sales", LocalPayouts().ledger_sales(
            after=query.get("after"), limit=query.get("limit")))
        return Response(LedgerSalePageSerializer(answer).data)  # money as decimal strings, never a float
