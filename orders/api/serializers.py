"""The storefront API's shapes (camelCase, money as decimal strings with the currency's minor digits)."""

from decimal import Decimal

from rest_framework import serializers

from integration.money import quantize
from orders.errors import InvalidCountry


def money(amount: Decimal, currency: str) -> str:
    return str(quantize(amount, currency))


class OrderLineOutput(serializers.Serializer):
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


class OrderOutput(serializers.Serializer):
    """An order with its lines (and, with ``timeline`` in the context, its timeline in plain words)."""

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
