"""Products from the LMS (spec 6.1.2 catalog sync, the reconciliation) and Commerce's price decisions.

A sync batch is checked item by item first; an item with no name, a negative
or malformed price, or an unknown type or currency fails alone with its reason
and nothing of it is written. The valid items are then written with one read
and at most one bulk INSERT and one bulk UPDATE, in the caller's transaction.
The price a sync sets is the suggested price, unless a commerce-admin overrode
it: a sync never touches ``price_override`` or the price it set.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from babel.numbers import list_currencies
from django.db import IntegrityError, transaction

from catalog.errors import CatalogSyncRace, InvalidPrice, ProductNotFound
from catalog.models import ExternalSource, PriceChange, Product, ProductStatus, ProductType
from integration.money import quantize

SYNC_TYPES = frozenset({ProductType.COURSE, ProductType.PROGRAM, ProductType.CLASS})
SYNC_ACTIONS = frozenset({"upsert", "archive"})
_CURRENCIES = frozenset(list_currencies())
# What a sync owns on a product; the price columns are handled apart (override rule).
SYNCED_FIELDS = ["type", "name", "description", "suggested_price", "price", "currency", "status", "metadata",
                 "department_id", "source_updated_at", "updated_at"]


@dataclass(frozen=True)
class SyncItem:
    """One product of a sync, as it came (values not yet trusted)."""

    action: str
    external_id: str
    type: str
    name: str
    suggested_price: object
    currency: str
    description: str | None = None
    metadata: dict | None = None
    source_updated_at: datetime | None = None
    # Why the item already failed its contract (the sync's receiver fills it in), if it did.
    invalid: str | None = None


@dataclass(frozen=True)
class SyncResult:
    external_id: str
    product_id: str
    status: str  # created, updated, archived, failed
    error: str | None = None
    changed: bool = True
    created: bool = False

    def as_wire(self) -> dict:
        answer = {"externalId": self.external_id, "productId": self.product_id, "status": self.status}
        if self.error:
            answer["error"] = self.error
        return answer


@dataclass
class _Checked:
    action: str
    external_id: str
    type: str
    name: str
    suggested_price: Decimal
    currency: str
    description: str
    metadata: dict = field(default_factory=dict)
    source_updated_at: datetime | None = None


def _check(item: SyncItem) -> _Checked | str:
    """The item with trusted values, or the reason it fails."""
    if item.invalid:
        return item.invalid
    if not isinstance(item.external_id, str) or not item.external_id.strip() or len(item.external_id) > 255:
        return "externalId is required"
    if item.action not in SYNC_ACTIONS:
        return "action must be upsert or archive"
    name = item.name.strip() if isinstance(item.name, str) else ""
    if not name:
        return "name is required"
    if len(name) > 255:
        return "name is longer than 255 characters"
    if item.type not in SYNC_TYPES:
        return "type must be course, program or class"
    currency = item.currency if isinstance(item.currency, str) else ""
    if currency not in _CURRENCIES:
        return "currency is not an ISO 4217 code"
    price = item.suggested_price
    if isinstance(price, float | bool) or price is None:
        return "suggestedPrice must be a decimal number or string"
    try:
        price = price if isinstance(price, Decimal) else Decimal(str(price))
    except (InvalidOperation, ValueError):
        return "suggestedPrice must be a decimal number or string"
    if not price.is_finite():
        return "suggestedPrice must be a finite number"
    if price < 0:
        return "suggestedPrice must not be negative"
    if price.adjusted() >= 15:
        return "suggestedPrice is too large"
    if quantize(price, currency) != price:
        return f"suggestedPrice has more decimal places than {currency} allows"
    metadata = item.metadata if isinstance(item.metadata, dict) else {}
    description = item.description if isinstance(item.description, str) else ""
    return _Checked(action=item.action, external_id=item.external_id, type=item.type, name=name,
                    suggested_price=price, currency=currency, description=description, metadata=metadata,
                    source_updated_at=item.source_updated_at)


def _department_of(metadata: dict) -> str:
    value = metadata.get("departmentId")
    return str(value)[:255] if value not in (None, "") else ""


def _apply(product: Product, item: _Checked, *, now: datetime) -> bool | str:
    """Copies ``item`` onto ``product``; True if anything changed, or the reason it cannot be applied."""
    if product.price_override is not None and item.currency != product.currency:
        return (f"currency changes from {product.currency} to {item.currency} while Commerce overrides the "
                "price; remove the override first")
    status = ProductStatus.ARCHIVED if item.action == "archive" else ProductStatus.ACTIVE
    price = product.price_override if product.price_override is not None else item.suggested_price
    wanted = {"type": item.type, "name": item.name, "description": item.description,
              "suggested_price": item.suggested_price, "price": price, "currency": item.currency,
              "status": status, "metadata": item.metadata, "department_id": _department_of(item.metadata)}
    if item.source_updated_at is not None:
        wanted["source_updated_at"] = item.source_updated_at
    changed = False
    for name, value in wanted.items():
        if getattr(product, name) != value:
            setattr(product, name, value)
            changed = True
    if changed:
        product.updated_at = now
    return changed


def catalog_sync_apply(*, items: Sequence[SyncItem], now: datetime,
                       source: str = ExternalSource.LMS) -> list[SyncResult]:
    """Spec 6.1.2 for one batch: a result per item, in order. Runs in the caller's transaction.

    Raises :class:`CatalogSyncRace` (409, retryable) when a concurrent sync inserted
    one of the same products first; nothing of the batch is then written.
    """
    checked: list[_Checked | str] = [_check(item) for item in items]
    external_ids = {str(item.external_id) for item in items if item.external_id}
    existing = {p.external_id: p for p in Product.objects.filter(external_source=source,
                                                                  external_id__in=external_ids)}
    results: list[SyncResult] = []
    created: dict[str, Product] = {}
    updated: dict[str, Product] = {}
    for item, outcome in zip(items, checked, strict=True):
        external_id = str(item.external_id or "")
        if isinstance(outcome, str):
            known = existing.get(external_id) or created.get(external_id)
            results.append(SyncResult(external_id, str(known.pk) if known else "", "failed", outcome, False))
            continue
        product = existing.get(external_id) or created.get(external_id)
        if product is None:
            product = Product(id=uuid.uuid4(), external_source=source, external_id=external_id,
                              created_at=now, updated_at=now, suggested_price=outcome.suggested_price,
                              price=outcome.suggested_price, currency=outcome.currency)
            _apply(product, outcome, now=now)
            created[external_id] = product
            status = "archived" if outcome.action == "archive" else "created"
            results.append(SyncResult(external_id, str(product.pk), status, created=True))
            continue
        change = _apply(product, outcome, now=now)
        if isinstance(change, str):
            results.append(SyncResult(external_id, str(product.pk), "failed", change, False))
            continue
        if change and external_id not in created:
            updated[external_id] = product
        status = "archived" if outcome.action == "archive" else "updated"
        results.append(SyncResult(external_id, str(product.pk), status, None, change))
    try:
        with transaction.atomic():
            if created:
                Product.objects.bulk_create(created.values(), batch_size=500)
            if updated:
                # INSERT ... ON CONFLICT (id) DO UPDATE: one statement per batch on PostgreSQL and SQLite,
                # where bulk_update's CASE WHEN per column grows with the square of the batch
                # (9 s for 500 products on SQLite; bench/bench_catalog.py).
                Product.objects.bulk_create(updated.values(), batch_size=500, update_conflicts=True,
                                            unique_fields=["id"], update_fields=SYNCED_FIELDS)
    except IntegrityError:
        raise CatalogSyncRace(details={"externalIds": sorted(created)[:20]}) from None
    return results


def _price_checked(price: Decimal, currency: str) -> Decimal:
    if isinstance(price, float | bool):
        raise InvalidPrice(details={"price": repr(price)})
    try:
        value = price if isinstance(price, Decimal) else Decimal(str(price))
    except (InvalidOperation, ValueError):
        raise InvalidPrice(details={"price": str(price)[:40]}) from None
    if not value.is_finite() or value < 0 or value.adjusted() >= 15:
        raise InvalidPrice(details={"price": str(price)[:40]})
    if quantize(value, currency) != value:
        raise InvalidPrice(f"{currency} prices have at most {abs(quantize(0, currency).as_tuple().exponent)} "
                           "decimal places.", details={"price": str(value)})
    return value


def _locked_product(product_id) -> Product:
    try:
        uuid.UUID(str(product_id))
    except ValueError:
        raise ProductNotFound(details={"productId": str(product_id)}) from None
    product = Product.objects.select_for_update().filter(pk=product_id).first()
    if product is None:
        raise ProductNotFound(details={"productId": str(product_id)})
    return product


@transaction.atomic
def product_price_override(*, product_id, price: Decimal | None, actor: str, reason: str = "",
                           now: datetime) -> Product:
    """Commerce's price for a product (``price=None`` goes back to the suggested price).

    Recorded in :class:`PriceChange`; later syncs update only the suggested price.
    """
    product = _locked_product(product_id)
    override = None if price is None else _price_checked(price, product.currency)
    old_price = product.price
    product.price_override = override
    product.price = override if override is not None else product.suggested_price
    product.price_overridden_by = actor if override is not None else ""
    product.price_overridden_at = now if override is not None else None
    product.updated_at = now
    product.save(update_fields=["price_override", "price", "price_overridden_by", "price_overridden_at",
                                "updated_at"])
    PriceChange.objects.create(product=product, old_price=old_price, new_price=product.price, override=override,
                               actor=actor, reason=reason[:1000], created_at=now)
    return product


@transaction.atomic
def products_archive(*, product_ids: Iterable, now: datetime) -> int:
    """Takes products off sale (admin action); the LMS's next upsert puts an LMS product back."""
    return Product.objects.filter(pk__in=list(product_ids), status=ProductStatus.ACTIVE).update(
        status=ProductStatus.ARCHIVED, updated_at=now)
