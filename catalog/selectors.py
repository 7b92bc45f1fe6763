"""Reads: the storefront's product list and page, and the frozen snapshots the port answers."""

import uuid
from collections.abc import Sequence
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects

from catalog.errors import ProductNotFound
from catalog.models import BundleItem, Coupon, CouponRedemption, Product, ProductStatus, ProductType
from catalog.services.bundles import bundle_allocation
from integration.contracts.catalog import BundleItemSnapshot, ProductSnapshot

LIST_FIELDS = ["id", "external_id", "external_source", "type", "name", "description", "suggested_price", "price",
               "price_override", "currency", "status", "metadata", "department_id", "created_at", "updated_at"]


def _items_prefetch() -> Prefetch:
    return Prefetch("bundle_items",
                    queryset=BundleItem.objects.select_related("product").order_by("position", "id"),
                    to_attr="ordered_items")


def product_list(*, filters: dict | None = None, include_archived: bool = False) -> QuerySet[Product]:
    """Products for sale, newest first; ``filters``: ``type``, ``q`` (name and description),
    ``department_id``, ``currency``. Bundles come with their items (one more query per page)."""
    filters = filters or {}
    queryset = Product.objects.only(*LIST_FIELDS)
    if not include_archived:
        queryset = queryset.filter(status=ProductStatus.ACTIVE)
    if filters.get("type"):
        queryset = queryset.filter(type=filters["type"])
    if filters.get("department_id"):
        queryset = queryset.filter(department_id=filters["department_id"])
    if filters.get("currency"):
        queryset = queryset.filter(currency=filters["currency"])
    query = (filters.get("q") or "").strip()
    if query:
        queryset = queryset.filter(Q(name__icontains=query) | Q(description__icontains=query))
    return queryset.prefetch_related(_items_prefetch()).order_by("-created_at", "-id")


def _valid_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def product_get(*, product_id, include_archived: bool = True) -> Product:
    if not _valid_uuid(product_id):
        raise ProductNotFound(details={"productId": str(product_id)})
    queryset = Product.objects.prefetch_related(_items_prefetch())
    if not include_archived:
        queryset = queryset.filter(status=ProductStatus.ACTIVE)
    product = queryset.filter(pk=product_id).first()
    if product is None:
        raise ProductNotFound(details={"productId": str(product_id)})
    return product


def product_departments() -> list[tuple[str, str]]:
    """(department id, name) of the departments with products for sale, by name, for the filter."""
    rows = (Product.objects.filter(status=ProductStatus.ACTIVE).exclude(department_id="")
            .values_list("department_id", "metadata__departmentName").distinct())
    names: dict[str, str] = {}
    for department_id, name in rows:
        if name or department_id not in names:
            names[department_id] = str(name or department_id)
    return sorted(names.items(), key=lambda pair: pair[1].lower())


def bundle_items_allocated(product: Product, *, amount: Decimal | None = None) -> list[tuple[Product, Decimal]]:
    """A bundle's items with their part of ``amount`` (the bundle's price by default)."""
    items = [item.product for item in getattr(product, "ordered_items", None)
             or product.bundle_items.select_related("product").order_by("position", "id")]
    if not items:
        return []
    parts = bundle_allocation(amount=product.price if amount is None else amount,
                              item_prices=[item.price for item in items], currency=product.currency)
    return list(zip(items, parts, strict=True))


def product_snapshot(product: Product) -> ProductSnapshot:
    allocated = bundle_items_allocated(product) if product.type == ProductType.BUNDLE else []
    purchasable = product.status == ProductStatus.ACTIVE and (
        product.type != ProductType.BUNDLE or (bool(allocated) and all(
            item.status == ProductStatus.ACTIVE for item, _ in allocated)))
    return ProductSnapshot(
        id=str(product.pk), external_id=product.external_id, external_source=product.external_source,
        type=product.type, name=product.name, description=product.description, price=product.price,
        suggested_price=product.suggested_price, currency=product.currency, status=product.status,
        metadata=dict(product.metadata or {}), purchasable=purchasable,
        bundle_items=tuple(_item_snapshot(item, part) for item, part in allocated))


def _item_snapshot(item: Product, part: Decimal) -> BundleItemSnapshot:
    return BundleItemSnapshot(product_id=str(item.pk), external_id=item.external_id,
                              external_source=item.external_source, type=item.type, name=item.name,
                              price=item.price, allocated_price=part)


# What a snapshot reads of a product (not the price override's audit, the sync's or the row's times).
SNAPSHOT_FIELDS = ("id", "external_id", "external_source", "type", "name", "description", "price",
                   "suggested_price", "currency", "status", "metadata")


def products_snapshots(*, product_ids: Sequence) -> tuple[ProductSnapshot, ...]:
    """Snapshots of these products in the order asked (unknown ids left out): one query, two with a bundle."""
    ids = [str(product_id) for product_id in product_ids if _valid_uuid(product_id)]
    if not ids:
        return ()
    found = {str(p.pk): p for p in Product.objects.filter(pk__in=ids).only(*SNAPSHOT_FIELDS)}
    bundles = [product for product in found.values() if product.type == ProductType.BUNDLE]
    if bundles:
        prefetch_related_objects(bundles, _items_prefetch())
    return tuple(product_snapshot(found[product_id]) for product_id in dict.fromkeys(ids) if product_id in found)


def product_by_external_id(*, external_id: str, external_source: str = "lms") -> Product:
    product = (Product.objects.prefetch_related(_items_prefetch())
               .filter(external_source=external_source, external_id=external_id).first())
    if product is None:
        raise ProductNotFound(details={"externalId": external_id, "externalSource": external_source})
    return product


def bundle_split(*, product_id, amount: Decimal) -> tuple[BundleItemSnapshot, ...]:
    product = product_get(product_id=product_id)
    if product.type != ProductType.BUNDLE:
        return ()
    return tuple(_item_snapshot(item, part) for item, part in bundle_items_allocated(product, amount=amount))


def coupon_get_by_code(*, code: str) -> Coupon | None:
    return Coupon.objects.filter(code=(code or "").strip().upper()).first()


def coupon_personal_data(*, user_id: str) -> dict:
    """A user's coupon uses, for their data download."""
    rows = (CouponRedemption.objects.filter(user_id=str(user_id)).select_related("coupon")
            .order_by("redeemed_at"))
    return {"couponRedemptions": [
        {"code": row.coupon.code, "orderId": row.order_id, "discount": str(row.discount), "currency": row.currency,
         "status": row.status, "redeemedAt": row.redeemed_at.isoformat(),
         "releasedAt": row.released_at.isoformat() if row.released_at else None} for row in rows]}
