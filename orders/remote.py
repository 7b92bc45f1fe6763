"""Every call orders makes to another app, in one place, answered as orders' own frozen data.

Catalog is reached through ``CatalogPort`` (``integration/ports/catalog.py``) once it
exists; identity through ``IdentityPort``. This module turns their answers into the
small records below, so the rest of orders never depends on another app's shapes.
Tests (and a deployment without a catalog) may install another source with
:func:`use_catalog`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol


@dataclass(frozen=True)
class BundlePart:
    product_id: str
    external_id: str
    product_type: str
    name: str
    allocated_price: Decimal


@dataclass(frozen=True)
class ProductInfo:
    id: str
    external_id: str
    type: str
    name: str
    price: Decimal
    currency: str
    status: str
    bundle_items: tuple[BundlePart, ...] = ()
    purchasable: bool = True

    @property
    def is_bundle(self) -> bool:
        return bool(self.bundle_items)


@dataclass(frozen=True)
class QuoteLine:
    product_id: str
    amount: Decimal


@dataclass(frozen=True)
class CouponResult:
    code: str
    discount: Decimal
    line_discounts: dict[str, Decimal] = field(default_factory=dict)
    description: str = ""


class CatalogSource(Protocol):
    """The part of ``CatalogPort`` orders uses."""

    def products_get(self, *, product_ids: tuple[str, ...]) -> Any: ...
    def coupon_quote(self, *, code: str, user_id: str | None, lines: tuple, now=None) -> Any: ...
    def coupon_redeem(self, *, code: str, user_id: str, order_id: str, lines: tuple, now=None) -> Any: ...
    def coupon_release(self, *, order_id: str, now=None) -> Any: ...


_catalog_override: CatalogSource | None = None


def use_catalog(source: CatalogSource | None) -> None:
    """Installs ``source`` instead of the catalog port (``None`` puts the port back)."""
    global _catalog_override
    _catalog_override = source


def _catalog() -> CatalogSource:
    if _catalog_override is not None:
        return _catalog_override
    from integration.ports.catalog import catalog_port  # the port, once catalog has registered it

    return catalog_port()


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        if isinstance(obj, dict) and name in obj:
            return obj[name]
        if hasattr(obj, name):
            return getattr(obj, name)
    return default


def _product(snapshot: Any) -> ProductInfo:
    parts = tuple(
        BundlePart(product_id=str(_get(item, "product_id", "id")), external_id=str(_get(item, "external_id")),
                   product_type=str(_get(item, "type", "product_type")), name=str(_get(item, "name")),
                   allocated_price=Decimal(str(_get(item, "allocated_price", "price"))))
        for item in (_get(snapshot, "bundle_items", "items", default=()) or ()))
    return ProductInfo(id=str(_get(snapshot, "id", "product_id")), external_id=str(_get(snapshot, "external_id")),
                       type=str(_get(snapshot, "type", "product_type")), name=str(_get(snapshot, "name")),
                       price=Decimal(str(_get(snapshot, "price"))), currency=str(_get(snapshot, "currency")).upper(),
                       status=str(_get(snapshot, "status")), bundle_items=parts,
                       purchasable=bool(_get(snapshot, "purchasable",
                                             default=_get(snapshot, "status") in {"active", "published"})))


def products_get(*, product_ids: Iterable[str]) -> dict[str, ProductInfo]:
    """The products that exist among ``product_ids``, by id (unknown ids are left out)."""
    ids = [str(product_id) for product_id in dict.fromkeys(product_ids)]
    if not ids:
        return {}
    answer = _catalog().products_get(product_ids=tuple(ids))
    snapshots = answer.values() if isinstance(answer, dict) else answer
    products = (_product(snapshot) for snapshot in snapshots)
    return {product.id: product for product in products}


def _coupon(answer: Any, code: str) -> CouponResult:
    quote = _get(answer, "quote", default=answer)
    lines = _get(quote, "lines", default=()) or ()
    return CouponResult(code=str(_get(quote, "code", default=code)),
                        discount=Decimal(str(_get(quote, "discount", default="0"))),
                        line_discounts={str(_get(line, "line_id", "product_id")): Decimal(str(_get(line, "discount")))
                                        for line in lines})


def _coupon_lines(lines: Sequence[QuoteLine], currency: str) -> tuple:
    from integration.contracts.catalog import CouponLine

    return tuple(CouponLine(line_id=line.product_id, product_id=line.product_id, amount=line.amount,
                            currency=currency) for line in lines)


def coupon_quote(*, code: str, user_id: str | None, currency: str, lines: Sequence[QuoteLine],
                 now=None) -> CouponResult:
    """What ``code`` takes off these lines (one per cart item) for this user (raises the coupon's error)."""
    answer = _catalog().coupon_quote(code=code, user_id=str(user_id) if user_id else None,
                                     lines=_coupon_lines(lines, currency), now=now)
    return _coupon(answer, code)


def coupon_redeem(*, code: str, user_id: str, order_id: str, currency: str, lines: Sequence[QuoteLine],
                  now=None) -> CouponResult:
    """Reserves one use of ``code`` for ``order_id`` in the caller's transaction (limits enforced by catalog)."""
    answer = _catalog().coupon_redeem(code=code, user_id=str(user_id), order_id=str(order_id),
                                      lines=_coupon_lines(lines, currency), now=now)
    return _coupon(answer, code)


def coupon_release(*, order_id: str, now=None) -> None:
    _catalog().coupon_release(order_id=str(order_id), now=now)


# --- identity ----------------------------------------------------------------

@dataclass(frozen=True)
class Buyer:
    id: str
    email: str
    reachable: bool = True  # False: the account is gone (erased or deactivated); nothing is emailed


def user_get(*, user_id: str) -> Buyer:
    """The buyer's current email, from identity (an erased account answers its anonymous address)."""
    from integration.errors import ApplicationError
    from integration.ports.identity import identity_port

    try:
        ref = identity_port().user_get(user_id=str(user_id))
    except ApplicationError as exc:
        if exc.code != "user_not_found":
            raise
        # Erased or deactivated: the LMS still needs an address in the message, never a real one.
        return Buyer(id=str(user_id), email=f"erased-{user_id}@invalid", reachable=False)
    return Buyer(id=str(ref.id), email=str(ref.email), reachable=not str(ref.email).endswith("@invalid"))


def lines_completed(*, user_id, line_ids: Sequence[str]) -> set[str]:
    """Which of the buyer's order lines gave an enrollment the learner has completed (``LearningPort``)."""
    if not line_ids:
        return set()
    from integration.ports.learning import learning_port

    answer = learning_port().enrollments_completed(commerce_user_id=str(user_id),
                                                   order_item_ids=[str(line_id) for line_id in line_ids])
    return {str(item.order_item_id) for item in answer.items if item.completed}
