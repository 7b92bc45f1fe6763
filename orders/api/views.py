"""The storefront API (shared/API.md): cart, checkout, pay, orders, refunds; and Stripe's webhook."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.contracts import ErrorSerializer
from integration.errors import ApplicationError
from integration.pagination import CursorPagination
from orders.api.serializers import (
    CartItemInput,
    CartOutput,
    CheckoutInput,
    CheckoutOutput,
    CouponInput,
    OrderOutput,
    OrderPageOutput,
    PayInput,
    PayOutput,
    RefundInput,
    RefundOutput,
    cart_representation,
    money,
    totals,
)
from orders.gateways import get_gateway
from orders.models import Refund
from orders.selectors import cart_for, order_get, order_list
from orders.services.carts import cart_coupon_set, cart_get_or_create, cart_item_remove, cart_product_add
from orders.services.checkout import checkout_create
from orders.services.payments import order_pay
from orders.services.pricing import cart_quote
from orders.services.refunds import refund_create
from orders.services.stripe_events import stripe_event_handle

TAG = ["storefront"]
ERRORS = {code: ErrorSerializer for code in (400, 401, 402, 403, 404, 409, 422)}


def _now():
    from django.utils import timezone

    return timezone.now()


def cart_body(*, user_id) -> dict:
    cart = cart_for(user_id=user_id)
    if cart is None or not cart.items.exists():
        return cart_representation(cart=cart, quote=None)
    try:
        quote = cart_quote(cart=cart, user_id=user_id)
    except ApplicationError as exc:
        if not cart.coupon_code:
            return cart_representation(cart=cart, quote=None, error=exc.as_body()["error"])
        # A coupon that stopped applying (expired, exhausted) is shown with the cart priced without it.
        return cart_representation(cart=cart, quote=cart_quote(cart=cart, user_id=user_id, coupon_code=""),
                                   error=exc.as_body()["error"])
    return cart_representation(cart=cart, quote=quote)


class CartApi(APIView):
    @extend_schema(tags=TAG, responses={200: CartOutput, **ERRORS}, operation_id="cart_get", summary="The signed-in buyer's cart")
    def get(self, request):
        return Response(cart_body(user_id=request.user.pk))


class CartItemsApi(APIView):
    @extend_schema(tags=TAG, request=CartItemInput, responses={201: CartOutput, **ERRORS},
                   operation_id="cart_item_add", summary="Add a product to the cart")
    def post(self, request):
        data = CartItemInput(data=request.data)
        data.is_valid(raise_exception=True)
        now = _now()
        cart_product_add(user_id=request.user.pk, product_id=data.validated_data["productId"],
                         quantity=data.validated_data.get("quantity", 1), now=now)
        return Response(cart_body(user_id=request.user.pk), status=status.HTTP_201_CREATED)


class CartItemApi(APIView):
    @extend_schema(tags=TAG, responses={200: CartOutput, **ERRORS}, operation_id="cart_item_remove", summary="Remove an item from the cart")
    def delete(self, request, item_id: str):
        now = _now()
        cart = cart_get_or_create(user_id=request.user.pk, now=now)
        cart_item_remove(cart=cart, item_id=item_id, now=now)
        return Response(cart_body(user_id=request.user.pk))


class CartCouponApi(APIView):
    @extend_schema(tags=TAG, request=CouponInput, responses={200: CartOutput, **ERRORS},
                   operation_id="cart_coupon_set", summary="Apply a coupon to the cart (an empty code removes it)")
    def post(self, request):
        data = CouponInput(data=request.data)
        data.is_valid(raise_exception=True)
        now = _now()
        cart = cart_get_or_create(user_id=request.user.pk, now=now)
        cart_coupon_set(cart=cart, code=data.validated_data["code"], user_id=request.user.pk, now=now)
        return Response(cart_body(user_id=request.user.pk))


class CheckoutApi(APIView):
    @extend_schema(tags=TAG, request=CheckoutInput, responses={201: CheckoutOutput, **ERRORS},
                   operation_id="checkout_create", summary="Make the order from the cart (once per cart content)")
    def post(self, request):
        data = CheckoutInput(data=request.data or {})
        data.is_valid(raise_exception=True)
        order = checkout_create(user_id=request.user.pk, now=_now(),
                                coupon_code=data.validated_data.get("couponCode"),
                                billing_country=data.validated_data.get("billingCountry", ""))
        gateway = get_gateway(order.gateway)
        return Response({"orderId": str(order.id), "number": order.number, "status": order.status,
                         "totals": totals(order),
                         "payment": {"provider": gateway.name, "label": gateway.label, **gateway.client_config()}},
                        status=status.HTTP_201_CREATED)


class PayApi(APIView):
    @extend_schema(tags=TAG, request=PayInput, responses={200: PayOutput, **ERRORS},
                   operation_id="checkout_pay", summary="Pay the order: 200 (paid or completed), 402 card_declined, or 200 requiresAction")
    def post(self, request, order_id: str):
        data = PayInput(data=request.data or {})
        data.is_valid(raise_exception=True)
        result = order_pay(order_id=order_id, user_id=request.user.pk, now=_now(),
                           payment_method=data.validated_data.get("paymentMethod", ""),
                           payment_intent_id=data.validated_data.get("paymentIntentId", ""),
                           client_secret=data.validated_data.get("clientSecret", ""))
        body = OrderOutput(order_get(order_id=result.order.id)).data
        if result.requires_action:
            body |= {"requiresAction": True, "clientSecret": result.client_secret,
                     "paymentIntentId": result.payment.intent_id}
        return Response(body)


class OrdersPagination(CursorPagination):
    ordering = "-created_at"


class OrderListApi(APIView):
    @extend_schema(tags=TAG, responses={200: OrderPageOutput, **ERRORS},
                   operation_id="orders_list", summary="The buyer's orders (filters: status, q)")
    def get(self, request):
        orders = order_list(user_id=request.user.pk, filters={"status": request.query_params.get("status"),
                                                              "q": request.query_params.get("q")})
        paginator = OrdersPagination()
        page = paginator.paginate_queryset(orders, request, view=self)
        return paginator.get_paginated_response(OrderOutput(page, many=True).data)


class OrderDetailApi(APIView):
    @extend_schema(tags=TAG, responses={200: OrderOutput, **ERRORS},
                   operation_id="orders_get", summary="One order: lines with entitlementStatus and enrollmentId, and its timeline")
    def get(self, request, order_id: str):
        order = order_get(order_id=order_id, user_id=None if _is_commerce_admin(request.user) else request.user.pk)
        return Response(OrderOutput(order, context={"timeline": True}).data)


def _is_commerce_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm("orders.refund_order"))


class OrderRefundsApi(APIView):
    @extend_schema(tags=TAG, request=RefundInput, responses={201: RefundOutput, **ERRORS},
                   operation_id="orders_refund_create", summary="Refund the order, some lines, or an amount (the buyer within the refund window)")
    def post(self, request, order_id: str):
        data = RefundInput(data=request.data)
        data.is_valid(raise_exception=True)
        admin = _is_commerce_admin(request.user)
        refund = refund_create(
            order_id=order_id, reason=data.validated_data["reason"], now=_now(),
            initiator=Refund.Initiator.ADMIN if admin else Refund.Initiator.BUYER,
            actor=f"user:{request.user.pk}", line_ids=data.validated_data.get("lineIds"),
            amount=data.validated_data.get("amount"), buyer_id=None if admin else request.user.pk)
        order = order_get(order_id=refund.order_id)
        return Response({"refund": {"id": str(refund.id), "amount": money(refund.amount, refund.currency), "currency": refund.currency,
                                    "reason": refund.reason, "createdAt": refund.created_at.isoformat()},
                         "order": OrderOutput(order).data}, status=status.HTTP_201_CREATED)


class StripeWebhookApi(APIView):
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes: list = []

    @extend_schema(tags=["integration webhooks"], request=OpenApiTypes.OBJECT,
                   responses={200: OpenApiTypes.OBJECT, 400: OpenApiResponse(ErrorSerializer),
                              404: OpenApiResponse(ErrorSerializer, description="unknown_payment_intent (retried)"),
                              503: OpenApiResponse(ErrorSerializer, description="stripe_not_configured")},
                   operation_id="webhook_stripe", summary="Stripe's webhook (Stripe-Signature verified with the SDK)")
    def post(self, request):
        import json

        from orders.gateways.stripe import stripe_event_verify

        payload = request.body
        stripe_event_verify(payload=payload, signature=request.headers.get("Stripe-Signature", ""))
        return Response(stripe_event_handle(event=json.loads(payload), now=_now()))
