"""The storefront API's shapes (camelCase, money as decimal strings with the currency's minor digits)."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from integration.contracts import ErrorDetailSerializer
from integration.money import quantize
from orders.errors import InvalidCountry
from orders.models import EntitlementStatus, OrderStatus


def money(amount: Decimal, currency: str) -> str:
    return str(quantize(amount, currency))


def _one_of(values: list[str]) -> dict:
    # A pattern, not an enum: spectacular names every enum after its field, and "status" here would collide
    # with the other apps' "status" sets (a warning the schema test fails on; the names live in settings).
    return {"type": "string", "pattern": f"^({'|'.join(values)})$", "description": f"one of: {', '.join(values)}"}


@extend_schema_field(_one_of(OrderStatus.values))
class OrderStatusField(serializers.CharField):
    """An order's status (shared/API.md's list)."""


@extend_schema_field(_one_of(EntitlementStatus.values))
class EntitlementStatusField(serializers.CharField):
    """A line's entitlementStatus (shared/API.md's list)."""


def _money(**kwargs) -> serializers.CharField:
    return serializers.CharField(help_text="a decimal string with the currency's minor digits", **kwargs)


class TotalsOutput(serializers.Serializer):
    """The shape :func:`totals` answers (declared for the OpenAPI schema)."""

    currency = serializers.CharField()
    subtotal = _money()
    discount = _money()
    tax = _money()
    total = _money()
    taxName = serializers.CharField(allow_null=True)
    taxRate = serializers.CharField(help_text="a decimal fraction, e.g. 0.19; 0 without tax")
    taxInclusive = serializers.BooleanField()


class LineAmountsOutput(serializers.Serializer):
    """A priced line's amounts, in a cart's quote and on an order."""

    productId = serializers.CharField()
    externalId = serializers.CharField()
    name = serializers.CharField()
    subtotal = _money()
    discount = _money()
    tax = _money()
    total = _money()


class OrderLineOutput(LineAmountsOutput):
    # The declared fields are the schema's; to_representation writes the same names.
    id = serializers.CharField()
    bundleProductId = serializers.CharField(allow_null=True)
    productType = serializers.CharField()
    unitPrice = _money()
    quantity = serializers.IntegerField()
    refundedAmount = _money()
    entitlementStatus = EntitlementStatusField()
    enrollmentId = serializers.CharField(allow_null=True)
    entitlementError = serializers.CharField(allow_null=True)

    def to_representation(self, line):
        currency = self.context["currency"]
        return {
            "id": str(line.id), "productId": line.product_id, "bundleProductId": line.bundle_product_id or None,
            "productType": line.product_type, "externalId": line.external_id, "name": line.name,
            "unitPrice": money(line.unit_price, currency), "quantity": line.quantity,
            "subtotal": money(line.subtotal, currency), "discount": money(line.discount, currency),
            "tax": money(line.tax, currency), "total": money(line.total, currency),
            "refundedAmount": money(line.refunded_amount, currency),
            "entitlementStatus": line.entitlement_status, "enrollmentId": line.enrollment_id or None,
            "entitlementError": line.entitlement_error or None,
        }


def totals(order_or_quote) -> dict:
    currency = order_or_quote.currency
    return {"currency": currency, "subtotal": money(order_or_quote.subtotal, currency),
            "discount": money(order_or_quote.discount, currency), "tax": money(order_or_quote.tax, currency),
            "total": money(order_or_quote.total, currency), "taxName": order_or_quote.tax_name or None,
            "taxRate": str(order_or_quote.tax_rate.normalize()) if order_or_quote.tax_rate else "0",
            "taxInclusive": bool(order_or_quote.tax_inclusive)}


class TimelineEventOutput(serializers.Serializer):
    kind = serializers.CharField()
    message = serializers.CharField()
    at = serializers.DateTimeField()


class OrderOutput(serializers.Serializer):
    """An order with its lines (and, with ``timeline`` in the context, its timeline in plain words)."""

    # The declared fields are the schema's; to_representation writes the same names.
    id = serializers.CharField()
    number = serializers.CharField()
    status = OrderStatusField()
    totals = TotalsOutput()
    refundedAmount = _money()
    couponCode = serializers.CharField(allow_null=True)
    billingCountry = serializers.CharField(allow_null=True, help_text="ISO 3166 alpha-2")
    lmsUserId = serializers.CharField(allow_null=True)
    gateway = serializers.CharField()
    createdAt = serializers.DateTimeField()
    paidAt = serializers.DateTimeField(allow_null=True)
    completedAt = serializers.DateTimeField(allow_null=True)
    lines = OrderLineOutput(many=True)
    timeline = TimelineEventOutput(many=True, required=False, help_text="on the order's own page (detail) only")

    def to_representation(self, order):
        lines = sorted(order.lines.all(), key=lambda line: line.position)
        data = {
            "id": str(order.id), "number": order.number, "status": order.status,
            "totals": totals(order), "refundedAmount": money(order.refunded_amount, order.currency),
            "couponCode": order.coupon_code or None,
            "billingCountry": order.billing_country.code if order.billing_country else None,
            "lmsUserId": order.lms_user_id or None, "gateway": order.gateway,
            "createdAt": order.created_at, "paidAt": order.paid_at, "completedAt": order.completed_at,
            "lines": OrderLineOutput(lines, many=True, context={"currency": order.currency}).data,
        }
        if self.context.get("timeline"):
            data["timeline"] = [{"kind": event.kind, "message": event.message, "at": event.created_at}
                                for event in order.events.order_by("created_at", "id")]
        return _iso(data)


def _iso(data: dict) -> dict:
    for key in ("createdAt", "paidAt", "completedAt"):
        if data.get(key) is not None:
            data[key] = data[key].isoformat()
    for event in data.get("timeline", ()):
        event["at"] = event["at"].isoformat()
    return data


def cart_representation(*, cart, quote, error=None) -> dict:
    if quote is None:
        return {"id": str(cart.id) if cart else None, "items": [], "couponCode": (cart.coupon_code or None) if cart
                else None, "totals": None, "error": error}
    currency = quote.currency
    return {
        "id": str(cart.id), "couponCode": quote.coupon_code or None,
        "items": [{"id": str(item.pk), "productId": product.id, "name": product.name, "productType": product.type,
                   "quantity": item.quantity, "unitPrice": money(product.price, currency), "currency": currency,
                   "bundleItems": [{"productId": part.product_id, "name": part.name,
                                    "allocatedPrice": money(part.allocated_price, currency)}
                                   for part in product.bundle_items]}
                  for item, product in quote.items],
        "lines": [{"productId": line.product_id, "externalId": line.external_id, "name": line.name,
                   "subtotal": money(line.subtotal, currency), "discount": money(line.discount, currency),
                   "tax": money(line.tax, currency), "total": money(line.total, currency)} for line in quote.lines],
        "totals": totals(quote), "error": error,
    }


class OrderPageOutput(serializers.Serializer):
    results = OrderOutput(many=True)
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class PayOutput(OrderOutput):
    """The order after paying; a card that needs a second step adds what the client needs for it."""

    requiresAction = serializers.BooleanField(required=False)
    clientSecret = serializers.CharField(required=False)
    paymentIntentId = serializers.CharField(required=False)


class RefundOutput(serializers.Serializer):
    class RefundSummary(serializers.Serializer):
        id = serializers.CharField()
        amount = _money()
        currency = serializers.CharField()
        reason = serializers.CharField()
        createdAt = serializers.DateTimeField()

    refund = RefundSummary()
    order = OrderOutput()


class PaymentOutput(serializers.Serializer):
    provider = serializers.CharField()
    label = serializers.CharField()
    publishableKey = serializers.CharField(required=False, help_text="Stripe only")
    jsUrl = serializers.CharField(required=False, help_text="Stripe only")


class CheckoutOutput(serializers.Serializer):
    orderId = serializers.CharField()
    number = serializers.CharField()
    status = OrderStatusField()
    totals = TotalsOutput()
    payment = PaymentOutput()


class BundlePartOutput(serializers.Serializer):
    productId = serializers.CharField()
    name = serializers.CharField()
    allocatedPrice = _money()


class CartItemOutput(serializers.Serializer):
    id = serializers.CharField()
    productId = serializers.CharField()
    name = serializers.CharField()
    productType = serializers.CharField()
    quantity = serializers.IntegerField()
    unitPrice = _money()
    currency = serializers.CharField()
    bundleItems = BundlePartOutput(many=True)


class CartOutput(serializers.Serializer):
    """The shape :func:`cart_representation` answers (declared for the OpenAPI schema)."""

    id = serializers.CharField(allow_null=True)
    couponCode = serializers.CharField(allow_null=True)
    items = CartItemOutput(many=True)
    lines = LineAmountsOutput(many=True, required=False, help_text="absent while the cart is empty")
    totals = TotalsOutput(allow_null=True)
    error = ErrorDetailSerializer(allow_null=True, help_text="why the cart cannot be priced as it is")


class CartItemInput(serializers.Serializer):
    productId = serializers.CharField(max_length=64)
    quantity = serializers.JSONField(required=False, default=1)


class CouponInput(serializers.Serializer):
    code = serializers.CharField(max_length=64, allow_blank=True, trim_whitespace=True)


class CheckoutInput(serializers.Serializer):
    couponCode = serializers.CharField(max_length=64, required=False, allow_blank=True)
    billingCountry = serializers.CharField(max_length=8, required=False, allow_blank=True)

    def validate_billingCountry(self, value):
        # An alpha-2 code is two ASCII letters. django_countries reads a str.isdigit() code as a numeric
        # one and int() fails on digits it cannot convert ("²"): a 500 before this check.
        if value and not (value.isascii() and value.strip().isalpha()):
            raise InvalidCountry(details={"billingCountry": value[:8]})
        return value


class PayInput(serializers.Serializer):
    paymentMethod = serializers.CharField(max_length=255, required=False, allow_blank=True)
    paymentIntentId = serializers.CharField(max_length=255, required=False, allow_blank=True)
    clientSecret = serializers.CharField(max_length=255, required=False, allow_blank=True)


class RefundInput(serializers.Serializer):
    lineIds = serializers.ListField(child=serializers.UUIDField(), required=False, allow_empty=False)
    amount = serializers.CharField(max_length=32, required=False)
    reason = serializers.CharField(max_length=500)

    def validate_amount(self, value):
        from integration.money import to_decimal

        try:
            amount = to_decimal(value)
        except Exception:
            raise serializers.ValidationError("A decimal amount, e.g. \"25.00\".") from None
        if amount <= 0:
            raise serializers.ValidationError("More than zero.")
        return amount
