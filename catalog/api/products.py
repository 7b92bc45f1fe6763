"""Storefront API: ``GET /api/v1/catalog/products/`` (public, filtered, cursor-paginated),
``GET /api/v1/catalog/products/{id}/`` (public), and Commerce's price for a product
(``PUT /api/v1/catalog/products/{id}/price/``, commerce-admins)."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api.serializers import ProductOutput
from catalog.errors import PriceOverrideForbidden
from catalog.filters import ProductFilter
from catalog.models import ProductType
from catalog.selectors import product_get, product_list
from catalog.services.products import product_price_override
from integration.contracts.base import ErrorSerializer, MoneyField
from integration.pagination import CursorPagination

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
PRICE_PERMISSION = "catalog.change_product"


class ProductCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")


class ProductListApi(APIView):
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    pagination_class = ProductCursorPagination  # the schema documents the answer as a page

    @extend_schema(tags=["catalog"], summary="Products for sale (public)", responses={200: ProductOutput(many=True)},
                   parameters=[OpenApiParameter("q", str, description="search in names and descriptions"),
                               OpenApiParameter("type", str, enum=ProductType.values),
                               OpenApiParameter("departmentId", str),
                               OpenApiParameter("limit", int, description="page size, 20 by default, at most 100"),
                               OpenApiParameter("cursor", str)])
    def get(self, request):
        filtered = ProductFilter(request.query_params, queryset=product_list())
        if not filtered.is_valid():
            raise serializers.ValidationError(filtered.errors)
        paginator = ProductCursorPagination()
        page = paginator.paginate_queryset(filtered.qs, request, view=self)
        return paginator.get_paginated_response(ProductOutput(page, many=True).data)


class ProductDetailApi(APIView):
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(tags=["catalog"], summary="One product (public; archived ones too, marked so)",
                   responses={200: ProductOutput, 404: ErrorSerializer})
    def get(self, request, product_id: str):
        return Response(ProductOutput(product_get(product_id=product_id)).data)


class CommerceAdminOnly(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if not (user.is_active and user.has_perm(PRICE_PERMISSION)):
            raise PriceOverrideForbidden()
        return True


class ProductPriceApi(APIView):
    permission_classes = [CommerceAdminOnly]

    class Input(serializers.Serializer):
        price = MoneyField(allow_null=True, min_value=0,
                           help_text="Commerce's price, or null to sell at the LMS's suggested price")
        reason = serializers.CharField(max_length=1000, required=False, allow_blank=True)

    @extend_schema(tags=["catalog"], summary="Set or remove Commerce's price for a product (commerce-admins)",
                   request=Input, responses={200: ProductOutput, **ERRORS})
    def put(self, request, product_id: str):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        product_price_override(product_id=product_id, price=data.validated_data["price"],
                               actor=str(request.user.pk), reason=data.validated_data.get("reason") or "",
                               now=timezone.now())
        return Response(ProductOutput(product_get(product_id=product_id)).data)
