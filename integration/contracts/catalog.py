"""Catalog's contracts (Commerce receives): the catalog sync of spec 6.1.2."""

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
