"""Orders' URLs, included at the root (full paths here)."""

from django.urls import path

from orders.api import views as api
from orders.views import pages, sales

urlpatterns = [
    # --- storefront API (shared/API.md) ---
    path("api/v1/cart/", api.CartApi.as_view(), name="orders-api-cart"),
    path("api/v1/cart/items/", api.CartItemsApi.as_view(), name="orders-api-cart-items"),
    path("api/v1/cart/items/<str:item_id>/", api.CartItemApi.as_view(), name="orders-api-cart-item"),
    path("api/v1/cart/coupon/", api.CartCouponApi.as_view(), name="orders-api-cart-coupon"),
    path("api/v1/checkout/", api.CheckoutApi.as_view(), name="orders-api-checkout"),
    path("api/v1/checkout/<str:order_id>/pay/", api.PayApi.as_view(), name="orders-api-pay"),
    path("api/v1/orders/", api.OrderListApi.as_view(), name="orders-api-list"),
    path("api/v1/orders/<str:order_id>/", api.OrderDetailApi.as_view(), name="orders-api-detail"),
    path("api/v1/orders/<str:order_id>/refunds/", api.OrderRefundsApi.as_view(), name="orders-api-refunds"),
    path("api/v1/webhooks/stripe", api.StripeWebhookApi.as_view(), name="orders-stripe-webhook"),
    # --- pages ---
    path("cart/", pages.cart_page, name="orders-cart"),
    path("cart/items/", pages.cart_add, name="orders-cart-add"),
    path("cart/items/<int:item_id>/remove/", pages.cart_remove, name="orders-cart-remove"),
    path("cart/coupon/", pages.cart_coupon, name="orders-cart-coupon"),
    path("checkout/", pages.checkout_page, name="orders-checkout"),
    path("checkout/<uuid:order_id>/pay/", pages.pay_page, name="orders-pay"),
    path("checkout/<uuid:order_id>/authenticate/", pages.authenticate_page, name="orders-authenticate"),
    path("orders/", pages.order_history, name="orders-history"),
    path("orders/sales/", sales.sales_overview, name="orders-sales"),
    path("orders/<uuid:order_id>/", pages.order_detail, name="orders-detail"),
    path("orders/<uuid:order_id>/status/", pages.order_status_fragment, name="orders-status"),
    path("orders/<uuid:order_id>/receipt/", pages.receipt, name="orders-receipt"),
    path("orders/<uuid:order_id>/receipt.pdf", pages.receipt_pdf, name="orders-receipt-pdf"),
    path("orders/<uuid:order_id>/refund/", pages.refund_request, name="orders-refund"),
]
