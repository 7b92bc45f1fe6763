import uuid
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from catalog.models import BundleItem, Coupon, Product
from integration.contracts.catalog import CouponLine


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    external_id = factory.Sequence(lambda n: f"course-{n}")
    external_source = "lms"
    type = "course"
    name = factory.Sequence(lambda n: f"Course number {n}")
    description = "Learn something useful."
    suggested_price = Decimal("100.00")
    price = factory.LazyAttribute(lambda o: o.price_override if o.price_override is not None else o.suggested_price)
    price_override = None
    currency = "USD"
    status = "active"
    metadata = factory.LazyFunction(lambda: {"departmentId": "dept-1", "departmentName": "Finance"})
    department_id = factory.LazyAttribute(lambda o: (o.metadata or {}).get("departmentId", ""))
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)


class CouponFactory(DjangoModelFactory):
    class Meta:
        model = Coupon
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"SAVE{n}")
    kind = "percent"
    percent_off = Decimal("10")
    amount_off = None
    currency = ""
    scope = "cart"
    max_per_user = 1
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def products(coupon, create, extracted, **kwargs):
        if create and extracted:
            coupon.products.set(extracted)


def bundle_of(*items, price: Decimal, name: str = "A bundle", currency: str = "USD") -> Product:
    bundle = ProductFactory(type="bundle", external_source="other", external_id=f"bundle:{uuid.uuid4()}",
                            name=name, suggested_price=price, currency=currency, metadata={})
    for position, item in enumerate(items):
        BundleItem.objects.create(bundle=bundle, product=item, position=position)
    return bundle


def line(product: Product, amount: Decimal | str | None = None, line_id: str | None = None) -> CouponLine:
    return CouponLine(line_id=line_id or f"line-{product.pk}", product_id=str(product.pk),
                      amount=Decimal(str(amount)) if amount is not None else product.price, currency=product.currency)


def sync_item(external_id: str = "course-101", **overrides) -> dict:
    item = {"action": "upsert", "externalId": external_id, "type": "course", "name": f"Course {external_id}",
            "description": "A course.", "suggestedPrice": "199.00", "currency": "USD",
            "metadata": {"departmentId": "dept-1", "durationWeeks": 6}}
    item.update(overrides)
    return item


def sync_payload(*items: dict, key: str | None = None) -> dict:
    return {"source": "lms", "idempotencyKey": key or f"catalog-sync-{uuid.uuid4()}",
            "products": list(items) or [sync_item()]}
