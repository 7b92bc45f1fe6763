"""Products in JSON: camelCase, money as strings with the currency's minor digits."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import ProductType
from catalog.selectors import bundle_items_allocated
from integration.money import quantize


def money(amount, currency: str) -> str:
    return str(quantize(amount, currency))


class BundleItemOutput(serializers.Serializer):
    productId = serializers.CharField()
    externalId = serializers.CharField()
    type = serializers.CharField()
    name = serializers.CharField()
    price = serializers.CharField()
    allocatedPrice = serializers.CharField()


class ProductOutput(serializers.Serializer):
    id = serializers.UUIDField()
    externalId = serializers.CharField(source="external_id")
    externalSource = serializers.CharField(source="external_source")
    type = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    price = serializers.SerializerMethodField()
    suggestedPrice = serializers.SerializerMethodField()
    currency = serializers.CharField()
    priceOverridden = serializers.SerializerMethodField()
    status = serializers.CharField()
    departmentId = serializers.CharField(source="department_id")
    metadata = serializers.JSONField()
    bundleItems = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    def get_price(self, product) -> str:
        return money(product.price, product.currency)

    def get_suggestedPrice(self, product) -> str:
        return money(product.suggested_price, product.currency)

    def get_priceOverridden(self, product) -> bool:
        return product.price_override is not None

    @extend_schema_field(BundleItemOutput(many=True))
    def get_bundleItems(self, product) -> list[dict]:
        if product.type != ProductType.BUNDLE:
            return []
        return [{"productId": str(item.pk), "externalId": item.external_id, "type": item.type, "name": item.name,
                 "price": money(item.price, item.currency), "allocatedPrice": money(part, product.currency)}
                for item, part in bundle_items_allocated(product)]
