"""What catalog answers through integration: ``CatalogPort`` (for orders), its handler, seed and hooks."""

from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from catalog import handlers, selectors
from catalog.seed import seed_catalog
from catalog.services import coupons
from catalog.services.reconcile import catalog_reconcile
from integration import registry
from integration.contracts.catalog import (
    BundleItemSnapshot,
    CouponLine,
    CouponQuote,
    CouponRedemptionResult,
    CouponReleaseResult,
    ProductSnapshot,
)
from integration.ports.base import implement
from integration.ports.catalog import CatalogPort
from integration.topics import Topic


class LocalCatalog(CatalogPort):
    def products_get(self, *, product_ids: tuple[str, ...]) -> tuple[ProductSnapshot, ...]:
        return selectors.products_snapshots(product_ids=product_ids)

    def product_by_external_id(self, *, external_id: str, external_source: str = "lms") -> ProductSnapshot:
        return selectors.product_snapshot(selectors.product_by_external_id(external_id=external_id,
                                                                           external_source=external_source))

    def bundle_split(self, *, product_id: str, amount: Decimal) -> tuple[BundleItemSnapshot, ...]:
        return selectors.bundle_split(product_id=product_id, amount=amount)

    def coupon_quote(self, *, code: str, user_id: str | None, lines: tuple[CouponLine, ...],
                     now: datetime | None = None) -> CouponQuote:
        return coupons.coupon_quote(code=code, user_id=user_id, lines=lines, now=now or timezone.now())

    def coupon_redeem(self, *, code: str, user_id: str, order_id: str, lines: tuple[CouponLine, ...],
                      now: datetime | None = None) -> CouponRedemptionResult:
        return coupons.coupon_redeem(code=code, user_id=user_id, order_id=order_id, lines=lines,
                                     now=now or timezone.now())

    def coupon_release(self, *, order_id: str, now: datetime | None = None) -> CouponReleaseResult:
        return coupons.coupon_release(order_id=order_id, now=now or timezone.now())


def personal_data(*, user_id: str) -> dict:
    return selectors.coupon_personal_data(user_id=user_id)


def reconcile(*, stdout, full: bool = False, **_: object) -> None:
    """Hook ``reconcile.catalog`` for ``manage.py reconcile catalog``."""
    report = catalog_reconcile(now=timezone.now(), full=full)
    stdout.write(report.summary() + "\n")


def register() -> None:
    implement(CatalogPort, LocalCatalog())
    registry.register_handler(Topic.CATALOG_SYNC, handlers.catalog_sync)
    registry.register_provider("catalog.personal_data", personal_data)
    registry.register_provider("seed.catalog", seed_catalog)
    registry.register_provider("reconcile.catalog", reconcile)
