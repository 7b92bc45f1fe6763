"""Catalog's contracts (Commerce receives): the catalog sync of spec 6.1.2."""

import re
from decimal import Decimal

from rest_framework import serializers

from integration.contracts.base import (
    LMS_SOURCE,
    PRODUCT_TYPES,
    CurrencyField,
    MoneyField,
    OpenSerializer,
    WireModel,
    _id,
    _optional,
)
from integration.contracts.base import dataclasses as _dc

frozen = _dc.dataclass(frozen=True)



# --- 6.1.2 Catalog sync -----------------------------------------------------

class CatalogProductMetadataSerializer(OpenSerializer):
    departmentId = _optional(_id)
    programId = _optional(_id)
    durationWeeks = _optional(serializers.IntegerField, min_value=0)
    thumbnailUrl = _optional(serializers.CharField, max_length=2048)


class CatalogSyncProductSerializer(serializers.Serializer):
    action = serializers.ChoiceField(["upsert", "archive"])
    externalId = _id()
    type = serializers.ChoiceField(PRODUCT_TYPES)
    name = serializers.CharField(max_length=255)
    description = _optional(serializers.CharField, allow_blank=True, max_length=20000)
    suggestedPrice = MoneyField(min_value=Decimal("0"))
    currency = CurrencyField()
    metadata = CatalogProductMetadataSerializer(required=False, allow_null=True)


def _first_error(errors) -> str:
    """One line naming each field that failed and why: "name: This field is required."."""
    parts = []
    for field_name, messages in errors.items():
        if isinstance(messages, dict):
            messages = [f"{key}: {value[0] if isinstance(value, list) else value}" for key, value in messages.items()]
        parts.append(f"{field_name}: {messages[0] if isinstance(messages, list) and messages else messages}")
    return "; ".join(parts)[:500]


_MONEY_TEXT = re.compile(r"^[0-9]{1,14}(\.[0-9]{1,4})?$")
_CURRENCY_TEXT = re.compile(r"^[A-Z]{3}$")
_ACTIONS = frozenset(["upsert", "archive"])
_TYPES = frozenset(PRODUCT_TYPES)


def _text(value, max_length: int, *, blank: bool = False) -> bool:
    """A string DRF's CharField would keep exactly as it is (already trimmed, no NUL, within bounds)."""
    return (isinstance(value, str) and value == value.strip() and "\x00" not in value
            and (blank or value != "") and len(value) <= max_length)


def _money(value) -> Decimal | None:
    if isinstance(value, str):
        return Decimal(value) if _MONEY_TEXT.match(value) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value) if 0 <= value < 10**14 else None
    if isinstance(value, Decimal) and value.is_finite() and value >= 0:
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= -4 and value.adjusted() < 14:
            return Decimal(str(value))
    return None


def _plainly_valid(data) -> dict | None:
    """The strict serializer's answer for a product of plain, already clean values, or None to ask it.

    DRF's per-field machinery costs about a millisecond a product, most of a sync's time
    (bench/bench_catalog.py); the products a real LMS sends are this plain. Anything less
    plain goes through :class:`CatalogSyncProductSerializer`, and a test checks both agree.
    """
    if not isinstance(data, dict):
        return None
    price = _money(data.get("suggestedPrice"))
    action, product_type = data.get("action"), data.get("type")
    if (price is None or not isinstance(action, str) or action not in _ACTIONS
            or not isinstance(product_type, str) or product_type not in _TYPES
            or not _text(data.get("externalId"), 255) or not _text(data.get("name"), 255)
            or not isinstance(data.get("currency"), str) or not _CURRENCY_TEXT.match(data["currency"])):
        return None
    result = {"action": data["action"], "externalId": data["externalId"], "type": data["type"],
              "name": data["name"], "suggestedPrice": price, "currency": data["currency"]}
    if "description" in data:
        if data["description"] is not None and not _text(data["description"], 20000, blank=True):
            return None
        result["description"] = data["description"]
    if "metadata" in data:
        metadata = data["metadata"]
        if metadata is not None:
            if not isinstance(metadata, dict):
                return None
            for key, length in (("departmentId", 255), ("programId", 255), ("thumbnailUrl", 2048)):
                if metadata.get(key) is not None and not _text(metadata[key], length):
                    return None
            weeks = metadata.get("durationWeeks")
            if weeks is not None and (not isinstance(weeks, int) or isinstance(weeks, bool) or weeks < 0):
                return None
            metadata = dict(metadata)
        result["metadata"] = metadata
    return result


# The errors that fail one product alone (field -> DRF error codes); any other error refuses the message.
_FAILS_ALONE = {"name": {"required", "blank", "null", "max_length", "invalid"}, "suggestedPrice": {"min_value"}}


def _fails_alone(errors) -> bool:
    return bool(errors) and all(
        field_name in _FAILS_ALONE and isinstance(messages, list)
        and all(getattr(message, "code", None) in _FAILS_ALONE[field_name] for message in messages)
        for field_name, messages in errors.items())


class CatalogSyncItemSerializer(serializers.Serializer):
    """One product of a sync. Spec 6.1.2 answers per product, and issue 10 names the two bad inputs
    that must fail alone: a product with no name, or with a negative price. Such a product comes
    through as ``{"externalId", "invalid": "<reason>"}`` and the receiver answers it ``failed`` with
    that reason, the others being written. Anything else off contract (a malformed amount or
    currency, an unknown type or action, no ``externalId``) still refuses the whole message, as a
    sender's bug the sender must see."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # One strict serializer for every product: building one per product copies its fields each time,
        # which cost more than the rest of a 500-product sync together (bench/bench_catalog.py).
        self._strict = CatalogSyncProductSerializer()

    def to_internal_value(self, data):
        fast = _plainly_valid(data)
        if fast is not None:
            return fast
        try:
            return dict(self._strict.run_validation(data))
        except serializers.ValidationError as exc:
            errors = exc.detail
        external_id = data.get("externalId") if isinstance(data, dict) else None
        if not isinstance(errors, dict) or not _fails_alone(errors) or isinstance(external_id, bool) or not isinstance(
                external_id, str | int) or not str(external_id).strip():
            raise serializers.ValidationError(errors) from None
        return {"externalId": str(external_id)[:255], "invalid": _first_error(errors)}

    def to_representation(self, instance):
        return instance


class CatalogSyncRequestSerializer(serializers.Serializer):
    source = serializers.ChoiceField(LMS_SOURCE)
    idempotencyKey = _id()
    products = serializers.ListField(child=CatalogSyncItemSerializer(), allow_empty=False, max_length=5000)
    signature = _optional(serializers.CharField, allow_blank=True, max_length=512)


class CatalogSyncResultSerializer(serializers.Serializer):
    externalId = _id()
    productId = _id(allow_blank=True)
    status = serializers.ChoiceField(["created", "updated", "archived", "failed"])
    error = serializers.CharField(required=False)


class CatalogSyncResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    processed = serializers.IntegerField(min_value=0)
    results = CatalogSyncResultSerializer(many=True)



@frozen
class CatalogSyncProduct(WireModel):
    action: str
    external_id: str
    type: str
    name: str
    suggested_price: Decimal
    currency: str
    description: str | None = None
    metadata: dict | None = None
    # Set by the contract (never sent) when this product broke it: why it fails; the others are None then.
    invalid: str | None = None


@frozen
class CatalogSync(WireModel):
    """Topic ``catalog.sync``: spec 6.1.2's request."""

    source: str
    idempotency_key: str
    products: tuple[CatalogSyncProduct, ...]
    signature: str | None = None


@frozen
class CatalogSyncResult(WireModel):
    external_id: str
    product_id: str
    status: str
    error: str | None = None


@frozen
class CatalogSyncAnswer(WireModel):
    success: bool
    processed: int
    results: tuple[CatalogSyncResult, ...]


# --- CatalogPort's answers (Commerce-internal: catalog answers orders in process) ---

@frozen
class BundleItemSnapshot(WireModel):
    """One product inside a bundle, with its part of the bundle's price."""

    product_id: str
    external_id: str
    external_source: str
    type: str
    name: str
    price: Decimal  # the item's own sale price
    allocated_price: Decimal  # its part of the bundle price (in proportion to the prices; parts sum exactly)


@frozen
class ProductSnapshot(WireModel):
    """A product as Commerce sells it now (spec 7.1), frozen at the moment it was read."""

    id: str
    external_id: str
    external_source: str
    type: str  # course, program, class, subscription or bundle
    name: str
    description: str
    price: Decimal  # Commerce's sale price: the suggested price unless a commerce-admin overrode it
    suggested_price: Decimal
    currency: str
    status: str  # active or archived
    metadata: dict
    purchasable: bool  # active and, for a bundle, every item active
    bundle_items: tuple[BundleItemSnapshot, ...] = ()


@frozen
class CouponLine(WireModel):
    """A cart or order line as a coupon sees it."""

    line_id: str
    product_id: str
    amount: Decimal  # the line's total before any discount (unit price x quantity)
    currency: str


@frozen
class CouponLineDiscount(WireModel):
    line_id: str
    product_id: str
    discount: Decimal  # never above the line's amount


@frozen
class CouponQuote(WireModel):
    """What a coupon takes off: the total and each line's part of it (they sum exactly)."""

    code: str
    coupon_id: str
    kind: str  # percent or amount
    scope: str  # cart or product
    currency: str
    discount: Decimal
    lines: tuple[CouponLineDiscount, ...]


@frozen
class CouponRedemptionResult(WireModel):
    redemption_id: str
    order_id: str
    user_id: str
    quote: CouponQuote


@frozen
class CouponReleaseResult(WireModel):
    order_id: str
    released: int  # how many redemptions were released now (0 when there was none or already released)
