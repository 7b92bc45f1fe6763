"""seed.catalog: every demo product priced, a bundle and WELCOME10, idempotent."""

import io
from decimal import Decimal

import pytest

from catalog.models import Coupon, Product
from catalog.seed import seed_catalog
from integration.ports import base as ports
from integration.ports.learning import LearningPort
from tests.catalog.factories import ProductFactory
from tests.catalog.test_reconcile import FakeLms, exported

pytestmark = pytest.mark.django_db


def test_seed_prices_everything_and_makes_a_bundle_and_the_welcome_coupon_once():
    free = ProductFactory(suggested_price=Decimal("0.00"))
    ProductFactory(suggested_price=Decimal("100.00"))
    ProductFactory(suggested_price=Decimal("200.00"))
    for _ in range(2):
        seed_catalog(stdout=io.StringIO())
    free.refresh_from_db()
    assert free.price == Decimal("49.00") and free.price_override == Decimal("49.00")
    bundle = Product.objects.get(type="bundle")
    assert bundle.price == Decimal("279.20") and bundle.bundle_items.count() == 3
    coupon = Coupon.objects.get()
    assert (coupon.code, coupon.kind, coupon.percent_off, coupon.max_per_user) == ("WELCOME10", "percent",
                                                                                  Decimal("10"), 1)
    assert not Product.objects.filter(price__lte=0).exists()


def test_seed_pulls_the_lms_export_when_no_sync_has_arrived():
    ports.restore({**ports.snapshot(), LearningPort: FakeLms([exported("c1"), exported("c2")])})
    out = io.StringIO()
    seed_catalog(stdout=out)
    assert "pulled the LMS catalog export: 2 products" in out.getvalue()
    assert Product.objects.filter(type="bundle").exists()
