"""``CatalogPort``: what orders (and any other Commerce app) asks the catalog app.

Declared here, implemented by ``catalog/providers.py`` (``LocalCatalog``, registered in
``CatalogConfig.ready()``). Both apps are Commerce's, so this port never travels over
HTTP: ``coupon_redeem`` and ``coupon_release`` must run inside the caller's database
transaction (the order and its coupon redemption commit or roll back together), which
only an in-process call can do. ``catalog_port()`` therefore always answers the
registered implementation.

Errors (``catalog/errors.py``, all :class:`integration.errors.ApplicationError`):
``product_not_found`` (404); ``coupon_not_found`` (404); ``coupon_inactive``,
``coupon_not_yet_valid``, ``coupon_expired``, ``coupon_not_applicable``,
``coupon_currency_mismatch`` (422); ``coupon_exhausted``, ``coupon_user_limit_reached``,
``coupon_redemption_conflict`` (409).
"""

from abc import abstractmethod
from datetime import datetime
from decimal import Decimal

from integration.contracts.catalog import (
    BundleItemSnapshot,
    CouponLine,
    CouponQuote,
    CouponRedemptionResult,
    CouponReleaseResult,
    ProductSnapshot,
)
from integration.ports.base import Port, PortNotImplementedError, implementation_of
from integration.routes import COMMERCE


class CatalogPort(Port):
    name = "catalog"
    side = COMMERCE

    @abstractmethod
    def products_get(self, *, product_ids: tuple[str, ...]) -> tuple[ProductSnapshot, ...]:
        """The products with these ids, in the order asked, whatever their status; unknown ids are left out.

        A bundle's snapshot lists its items, each with its part of the bundle's price.
        Two queries, however many products.
        """

    @abstractmethod
    def product_by_external_id(self, *, external_id: str, external_source: str = "lms") -> ProductSnapshot:
        """The product synced from ``external_source`` under ``external_id`` (``product_not_found`` if none)."""

    @abstractmethod
    def bundle_split(self, *, product_id: str, amount: Decimal) -> tuple[BundleItemSnapshot, ...]:
        """``amount`` (what was actually paid for a bundle line, after any discount) split over the bundle's
        items in proportion to their prices, the rounding remainder to the last item; the parts sum exactly
        to ``amount``. A product that is not a bundle answers ``()``."""

    @abstractmethod
    def coupon_quote(self, *, code: str, user_id: str | None, lines: tuple[CouponLine, ...],
                     now: datetime | None = None) -> CouponQuote:
        """What coupon ``code`` takes off these lines for this user now (nothing is reserved).

        Checks that it is active, within its validity window, applies to at least one line,
        matches the lines' currency, and is within its total and per-user limits.
        """

    @abstractmethod
    def coupon_redeem(self, *, code: str, user_id: str, order_id: str, lines: tuple[CouponLine, ...],
                      now: datetime | None = None) -> CouponRedemptionResult:
        """Reserves one use of ``code`` for ``order_id``, in the caller's transaction, and answers the quote.

        Limits hold under concurrency (the coupon's row is locked; one redemption per coupon and order by a
        unique constraint). Idempotent per order: redeeming again for the same order and lines answers the
        same redemption; the same order with a different discount is ``coupon_redemption_conflict``.
        """

    @abstractmethod
    def coupon_release(self, *, order_id: str, now: datetime | None = None) -> CouponReleaseResult:
        """Gives back the use ``order_id`` reserved (payment failed, order canceled); idempotent.

        A refund does not release: the coupon was used.
        """


def catalog_port() -> CatalogPort:
    implementation = implementation_of(CatalogPort)
    if implementation is None:
        raise PortNotImplementedError("CatalogPort has no implementation: is the catalog app installed "
                                      "(it is served by the Commerce side only)?")
    return implementation
