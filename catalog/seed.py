"""Demo data for the catalog (``manage.py seed_demo``), idempotent.

The products themselves come from the LMS: its seed publishes the demo courses,
which reach us by ``catalog.sync``. If they have not arrived (a worker not
running yet), a full reconciliation pulls them from the LMS export. Then every
demo product gets a price, and a bundle and the coupon ``WELCOME10`` are made.
"""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from catalog.errors import ReconcileUnavailable
from catalog.models import (
    Coupon,
    CouponKind,
    CouponScope,
    ExternalSource,
    Product,
    ProductStatus,
    ProductType,
)
from catalog.services.bundles import BUNDLE_EXTERNAL_PREFIX, bundle_create
from catalog.services.coupons import coupon_create
from catalog.services.products import product_price_override
from catalog.services.reconcile import catalog_reconcile
from integration.money import quantize

SEED_ACTOR = "system:seed_demo"
DEMO_PRICE = Decimal("49.00")
BUNDLE_SLUG = "starter-bundle"
BUNDLE_DISCOUNT = Decimal("0.80")
WELCOME_CODE = "WELCOME10"


def _lms_products():
    return Product.objects.filter(external_source=ExternalSource.LMS, status=ProductStatus.ACTIVE)


def seed_catalog(*, stdout) -> None:
    now = timezone.now()
    if not _lms_products().exists():
        try:
            report = catalog_reconcile(now=now, full=True)
            stdout.write(f"  pulled the LMS catalog export: {report.created} products\n")
        except ReconcileUnavailable:
            stdout.write("  the LMS catalog export did not answer; no products yet\n")
    with transaction.atomic():
        for product in _lms_products().filter(price__lte=0):
            product_price_override(product_id=product.pk, price=quantize(DEMO_PRICE, product.currency),
                                   actor=SEED_ACTOR, reason="demo data: every demo product has a price", now=now)
            stdout.write(f"  priced {product.name} at {DEMO_PRICE} {product.currency}\n")
        count = _lms_products().count()
        stdout.write(f"  {count} LMS products for sale\n")
        _seed_bundle(stdout=stdout, now=now)
        _seed_coupon(stdout=stdout, now=now)


def _seed_bundle(*, stdout, now) -> None:
    if Product.objects.filter(external_source=ExternalSource.OTHER,
                              external_id=BUNDLE_EXTERNAL_PREFIX + BUNDLE_SLUG).exists():
        stdout.write(f"  kept    bundle {BUNDLE_SLUG}\n")
        return
    courses = list(_lms_products().filter(type=ProductType.COURSE).order_by("created_at", "id")[:10])
    if not courses:
        return
    currency = courses[0].currency
    items = [course for course in courses if course.currency == currency][:3]
    if len(items) < 2:
        stdout.write("  no bundle: fewer than two courses in one currency\n")
        return
    price = quantize(sum((item.price for item in items), Decimal(0)) * BUNDLE_DISCOUNT, currency)
    bundle = bundle_create(slug=BUNDLE_SLUG, name="Starter bundle",
                           description=f"{', '.join(i.name for i in items[:-1])} and {items[-1].name} together, "
                                       "for less than each on its own.",
                           price=price, currency=currency, product_ids=[item.pk for item in items], now=now)
    stdout.write(f"  created bundle {bundle.name} at {price} {currency}\n")


def _seed_coupon(*, stdout, now) -> None:
    if Coupon.objects.filter(code=WELCOME_CODE).exists():
        stdout.write(f"  kept    coupon {WELCOME_CODE}\n")
        return
    coupon_create(code=WELCOME_CODE, kind=CouponKind.PERCENT, percent_off=Decimal("10"), scope=CouponScope.CART,
                  max_per_user=1, description="10% off your first order", now=now)
    stdout.write(f"  created coupon {WELCOME_CODE} (10% off the cart, once per person)\n")
