"""Storefront pages: cart, checkout, payment, confirmation, order history, receipt (HTML and PDF), refund request.

Each page turns its form into one service call; errors become messages on the page.
Every order page is its buyer's only (anyone else gets a 404).
"""

import django_filters
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_countries import countries

from integration.errors import ApplicationError
from integration.money import format_money
from orders.gateways import get_gateway
from orders.gateways.test import DECLINED, NEEDS_ACTION, SUCCEEDING
from orders.models import EntitlementStatus, Order, OrderStatus, Payment, Refund
from orders.selectors import cart_for, order_get, order_list, order_timeline
from orders.services.carts import (
    cart_coupon_set,
    cart_get_or_create,
    cart_item_add,
    cart_item_remove,
    cart_product_add,
)
from orders.services.checkout import checkout_create
from orders.services.payments import order_pay
from orders.services.pricing import cart_quote
from orders.services.refunds import refund_create
from orders.signals import SESSION_CART_KEY
from orders.state import PAID_STATES

TEST_CARDS = [
    ("pm_card_visa", "Visa ending 4242: succeeds"),
    ("pm_card_chargeDeclined", "Card ending 0002: declined"),
    ("pm_card_authenticationRequired", "Card ending 3155: asks for 3-D Secure confirmation"),
]
assert {card for card, _ in TEST_CARDS} <= SUCCEEDING | DECLINED | NEEDS_ACTION


def _user_id(request):
    return request.user.pk if request.user.is_authenticated else None


def _session_cart(request, *, create: bool):
    """The visitor's cart: the user's when signed in, else the one this session's key points at."""
    now = timezone.now()
    if request.user.is_authenticated:
        return cart_get_or_create(user_id=request.user.pk, now=now) if create else cart_for(user_id=request.user.pk)
    if not request.session.session_key:
        if not create:
            return None
        request.session.save()
    cart = cart_for(session_key=request.session.session_key)
    if cart is None and create:
        cart = cart_get_or_create(session_key=request.session.session_key, now=now)
    if cart is not None:
        request.session[SESSION_CART_KEY] = str(cart.pk)
    return cart


def _error(request, exc: ApplicationError) -> None:
    messages.error(request, exc.message)


def _back(request, default: str):
    """Back where the visitor came from: a path or a URL of this site (``next`` or the Referer), else ``default``
    (a URL, never a view name: a bare word like ``next=x`` must not be looked up as one)."""
    target = request.POST.get("next") or request.headers.get("Referer") or default
    if not (target.startswith(("/", "http://", "https://")) and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure())):
        target = default
    return HttpResponseRedirect(target)


def _quote_or_none(request, cart, **kwargs):
    if cart is None or not cart.items.exists():
        return None
    try:
        return cart_quote(cart=cart, user_id=_user_id(request), **kwargs)
    except ApplicationError as exc:
        if cart.coupon_code and "coupon_code" not in kwargs:
            messages.warning(request, f"Coupon {cart.coupon_code}: {exc.message}")
            return cart_quote(cart=cart, user_id=_user_id(request), coupon_code="", **kwargs)
        _error(request, exc)
        return None


@require_http_methods(["GET"])
def cart_page(request):
    cart = _session_cart(request, create=False)
    quote = _quote_or_none(request, cart)
    return render(request, "orders/cart.html", {"cart": cart, "quote": quote})


@require_POST
def cart_add(request):
    product_id, quantity, now = request.POST.get("product_id", ""), request.POST.get("quantity", 1), timezone.now()
    try:
        if request.user.is_authenticated:  # the API's add: one transaction, and a refused product makes no cart
            cart_product_add(user_id=request.user.pk, product_id=product_id, quantity=quantity, now=now)
        else:
            cart_item_add(cart=_session_cart(request, create=True), product_id=product_id, quantity=quantity,
                          user_id=None, now=now)
    except ApplicationError as exc:
        _error(request, exc)
        return _back(request, reverse("orders-cart"))
    messages.success(request, "Added to your cart.")
    return redirect("orders-cart")


@require_POST
def cart_remove(request, item_id: int):
    cart = _session_cart(request, create=True)
    try:
        cart_item_remove(cart=cart, item_id=item_id, now=timezone.now())
    except ApplicationError as exc:
        _error(request, exc)
    return redirect("orders-cart")


@require_POST
def cart_coupon(request):
    cart = _session_cart(request, create=True)
    try:
        cart_coupon_set(cart=cart, code=request.POST.get("code", ""), user_id=_user_id(request), now=timezone.now())
    except ApplicationError as exc:
        _error(request, exc)
    else:
        messages.success(request, "Coupon applied." if cart.coupon_code else "Coupon removed.")
    return redirect("orders-cart")


@login_required
@require_http_methods(["GET", "POST"])
def checkout_page(request):
    cart = _session_cart(request, create=False)
    if request.method == "POST":
        try:
            order = checkout_create(user_id=request.user.pk, now=timezone.now(),
                                    billing_country=request.POST.get("billing_country", ""))
        except ApplicationError as exc:
            _error(request, exc)
            return redirect("orders-checkout")
        return redirect("orders-pay", order_id=order.pk)
    country = request.GET.get("billing_country", "")
    quote = _quote_or_none(request, cart, billing_country=country) if country else _quote_or_none(request, cart)
    if quote is None:
        return redirect("orders-cart")
    return render(request, "orders/checkout.html", {"quote": quote, "countries": list(countries),
                                                    "billing_country": country})


def _own_order(request, order_id) -> Order:
    try:
        return order_get(order_id=order_id, user_id=request.user.pk)
    except ApplicationError:
        raise Http404("No such order.") from None


@login_required
@require_http_methods(["GET", "POST"])
def pay_page(request, order_id):
    order = _own_order(request, order_id)
    if order.status in PAID_STATES:
        return redirect("orders-detail", order_id=order.pk)
    gateway = get_gateway(order.gateway)
    if request.method == "POST":
        try:
            result = order_pay(order_id=order.pk, user_id=request.user.pk, now=timezone.now(),
                               payment_method=request.POST.get("payment_method", ""))
        except ApplicationError as exc:
            _error(request, exc)
            return redirect("orders-pay", order_id=order.pk)
        if result.requires_action:
            return redirect("orders-authenticate", order_id=order.pk)
        return redirect("orders-detail", order_id=order.pk)
    return render(request, "orders/pay.html", {
        "order": order, "gateway": gateway, "test_cards": TEST_CARDS, "client_config": gateway.client_config(),
        "total": format_money(order.total, order.currency),
        "minor_amount": _minor(order), "payable": order.status in (OrderStatus.PENDING, OrderStatus.PAYMENT_FAILED)})


def _minor(order: Order) -> int:
    from orders.gateways.stripe import to_minor

    return to_minor(order.total, order.currency)


@login_required
@require_http_methods(["GET", "POST"])
def authenticate_page(request, order_id):
    """The test gateway's confirmation step (what 3-D Secure's bank page is with Stripe)."""
    order = _own_order(request, order_id)
    payment = order.payments.filter(status=Payment.Status.REQUIRES_ACTION, gateway="test").order_by("-attempt").first()
    if payment is None:
        return redirect("orders-detail" if order.status in PAID_STATES else "orders-pay", order_id=order.pk)
    if request.method == "POST":
        approve = request.POST.get("decision") == "approve"
        try:
            order_pay(order_id=order.pk, user_id=request.user.pk, now=timezone.now(),
                      payment_intent_id=payment.intent_id, client_secret=payment.client_secret if approve else "-")
        except ApplicationError as exc:
            _error(request, exc)
            return redirect("orders-pay", order_id=order.pk)
        return redirect("orders-detail", order_id=order.pk)
    return render(request, "orders/authenticate.html", {"order": order, "total": format_money(order.total,
                                                                                              order.currency)})


class OrderFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="Search", method="search")
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices, empty_label="Any status")
    placed_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte", label="Placed from")

    class Meta:
        model = Order
        fields = ["status"]

    def search(self, queryset, name, value):
        from django.db.models import Q

        return queryset.filter(Q(number__icontains=value) | Q(lines__name__icontains=value)).distinct()


@login_required
def order_history(request):
    filterset = OrderFilter(request.GET, queryset=order_list(user_id=request.user.pk))
    page = Paginator(filterset.qs, 10).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "orders/history.html", {"filter": filterset, "page": page, "query": query.urlencode()})


def _detail_context(request, order: Order) -> dict:
    lines = sorted(order.lines.all(), key=lambda line: line.position)
    return {"order": order, "lines": lines, "timeline": order_timeline(order=order),
            "enrolling": order.status == OrderStatus.PAID
                         and any(line.entitlement_status == EntitlementStatus.PENDING for line in lines),
            "awaiting_approval": order.status == OrderStatus.PAID
                                 and any(line.entitlement_status == EntitlementStatus.PENDING_APPROVAL for line in lines),
            "refundable": order.status in PAID_STATES and order.refundable_amount > 0}


@login_required
def order_detail(request, order_id):
    order = _own_order(request, order_id)
    return render(request, "orders/detail.html", _detail_context(request, order))


@login_required
def order_status_fragment(request, order_id):
    """The confirmation's live part: htmx polls it while the order is "paid, enrolling…"."""
    order = _own_order(request, order_id)
    return render(request, "orders/_status.html", _detail_context(request, order))


def _receipt_context(request, order: Order) -> dict:
    from integration.money import quantize

    lines = sorted(order.lines.all(), key=lambda line: line.position)
    fmt = lambda amount: format_money(quantize(amount, order.currency), order.currency)  # noqa: E731
    return {"order": order, "site_name": settings.SITE_NAME, "email": request.user.email,
            "rows": [{"line": line, "unit": fmt(line.unit_price), "discount": fmt(line.discount) if line.discount else "",
                      "tax": fmt(line.tax), "total": fmt(line.total)} for line in lines],
            "subtotal": fmt(order.subtotal), "discount": fmt(order.discount) if order.discount else "",
            "tax": fmt(order.tax), "total": fmt(order.total),
            "refunded": fmt(order.refunded_amount) if order.refunded_amount else "",
            "tax_percent": f"{(order.tax_rate * 100).normalize():f}" if order.tax_rate else "",
            "refunds": list(order.refunds.order_by("created_at"))}


@login_required
def receipt(request, order_id):
    order = _own_order(request, order_id)
    if order.status not in PAID_STATES and order.status != OrderStatus.REFUNDED:
        raise Http404("This order has not been paid.")
    return render(request, "orders/receipt.html", _receipt_context(request, order) | {"pdf": False})


@login_required
def receipt_pdf(request, order_id):
    """The same template as the HTML receipt, printed by WeasyPrint."""
    from weasyprint import CSS, HTML

    order = _own_order(request, order_id)
    if order.status not in PAID_STATES and order.status != OrderStatus.REFUNDED:
        raise Http404("This order has not been paid.")
    html = render_to_string("orders/receipt.html", _receipt_context(request, order) | {"pdf": True}, request=request)
    stylesheet = finders.find("orders/receipt.css")
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf(
        stylesheets=[CSS(filename=stylesheet)] if stylesheet else None)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{order.number}.pdf"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def refund_request(request, order_id):
    order = _own_order(request, order_id)
    if request.method == "POST":
        line_ids = request.POST.getlist("line_ids") or None
        try:
            refund_create(order_id=order.pk, reason=request.POST.get("reason", ""), initiator=Refund.Initiator.BUYER,
                          actor=f"user:{request.user.pk}", now=timezone.now(), line_ids=line_ids,
                          buyer_id=request.user.pk)
        except ApplicationError as exc:
            _error(request, exc)
            return redirect("orders-refund", order_id=order.pk)
        messages.success(request, "Your refund is on its way; access to refunded courses ends now.")
        return redirect("orders-detail", order_id=order.pk)
    lines = [line for line in sorted(order.lines.all(), key=lambda line: line.position) if line.refundable_amount > 0]
    window_ends = order.paid_at + timezone.timedelta(days=settings.REFUND_WINDOW_DAYS) if order.paid_at else None
    return render(request, "orders/refund.html", {
        "order": order, "lines": lines, "window_ends": window_ends,
        "window_open": bool(window_ends and timezone.now() <= window_ends and order.status in PAID_STATES),
        "rows": [(line, format_money(line.refundable_amount, order.currency)) for line in lines]})
