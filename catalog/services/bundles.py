"""Bundles: several products sold at one price, revenue allocated to the items by their prices.

A bundle is a :class:`Product` of type ``bundle`` (so carts, orders and coupons
treat it like any product) with :class:`BundleItem` rows in allocation order.
The bundle's price is split over its items in proportion to the items' own
sale prices, the rounding remainder to the last item, so the parts always sum
to exactly what was paid.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.db import transaction

from catalog.errors import BundleInvalid, ProductNotFound
from catalog.models import BundleItem, ExternalSource, Product, ProductStatus, ProductType
from catalog.services.allocation import allocate_bounded
from catalog.services.products import _price_checked

BUNDLE_EXTERNAL_PREFIX = "bundle:"


def bundle_allocation(*, amount: Decimal, item_prices: Sequence[Decimal], currency: str) -> list[Decimal]:
    """``amount`` split over items priced ``item_prices``: proportional, remainder to the last, exact sum."""
    if not item_prices:
        raise BundleInvalid(details={"items": "none"})
    return allocate_bounded(amount, list(item_prices), currency)


def _items_checked(*, product_ids: Sequence, currency: str, bundle_id=None) -> list[Product]:
    ids = [str(product_id) for product_id in product_ids]
    if len(ids) < 2 or len(set(ids)) != len(ids):
        raise BundleInvalid("A bundle holds at least two different products.", details={"productIds": ids})
    try:
        for product_id in ids:
            uuid.UUID(product_id)
    except ValueError:
        raise ProductNotFound(details={"productIds": ids}) from None
    found = {str(p.pk): p for p in Product.objects.filter(pk__in=ids)}
    missing = [product_id for product_id in ids if product_id not in found]
    if missing:
        raise ProductNotFound(details={"productIds": missing})
    items = [found[product_id] for product_id in ids]
    for item in items:
        if item.type == ProductType.BUNDLE or (bundle_id is not None and str(item.pk) == str(bundle_id)):
            raise BundleInvalid("A bundle cannot hold another bundle.", details={"productId": str(item.pk)})
        if item.currency != currency:
            raise BundleInvalid(f"Every item must be in {currency}, like the bundle.",
                                details={"productId": str(item.pk), "currency": item.currency})
    return items


@transaction.atomic
def bundle_create(*, slug: str, name: str, price: Decimal, currency: str, product_ids: Sequence,
                  description: str = "", now: datetime) -> Product:
    """A new bundle of ``product_ids`` (in allocation order) at ``price``."""
    slug = (slug or "").strip()
    if not slug or not (name or "").strip():
        raise BundleInvalid("A bundle needs a slug and a name.")
    currency = (currency or "").upper()
    checked_price = _price_checked(price, currency)
    items = _items_checked(product_ids=product_ids, currency=currency)
    external_id = BUNDLE_EXTERNAL_PREFIX + slug
    if Product.objects.filter(external_source=ExternalSource.OTHER, external_id=external_id).exists():
        raise BundleInvalid("A bundle with this slug exists already.", details={"slug": slug})
    bundle = Product.objects.create(
        external_source=ExternalSource.OTHER, external_id=external_id, type=ProductType.BUNDLE,
        name=name.strip(), description=description, suggested_price=checked_price, price=checked_price,
        currency=currency, status=ProductStatus.ACTIVE, metadata={"bundle": True}, created_at=now,
        updated_at=now)
    BundleItem.objects.bulk_create([BundleItem(bundle=bundle, product=item, position=index)
                                    for index, item in enumerate(items)])
    return bundle


@transaction.atomic
def bundle_items_set(*, bundle_id, product_ids: Sequence, now: datetime) -> Product:
    """Replaces the bundle's items (in allocation order)."""
    bundle = Product.objects.select_for_update().filter(pk=bundle_id, type=ProductType.BUNDLE).first()
    if bundle is None:
        raise ProductNotFound(details={"productId": str(bundle_id)})
    items = _items_checked(product_ids=product_ids, currency=bundle.currency, bundle_id=bundle.pk)
    BundleItem.objects.filter(bundle=bundle).delete()
    BundleItem.objects.bulk_create([BundleItem(bundle=bundle, product=item, position=index)
                                    for index, item in enumerate(items)])
    bundle.updated_at = now
    bundle.save(update_fields=["updated_at"])
    return bundle
