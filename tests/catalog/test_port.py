"""CatalogPort as orders calls it: frozen snapshots, bundle items with their allocated prices, coupons."""

import dataclasses
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from catalog.errors import CouponExhausted, ProductNotFound
from catalog.models import CouponRedemption
from catalog.providers import LocalCatalog
from catalog.services.products import product_price_override
from integration.contracts.catalog import ProductSnapshot
from integration.ports.base import check_implementation
from integration.ports.catalog import CatalogPort, catalog_port
from tests.catalog.factories import CouponFactory, ProductFactory, bundle_of, line

pytestmark = pytest.mark.django_db


def test_the_catalog_app_registers_its_implementation():
    assert isinstance(catalog_port(), LocalCatalog)
    check_implementation(CatalogPort, catalog_port())


def test_products_get_answers_frozen_snapshots_in_the_order_asked(django_assert_max_num_queries):
    a = ProductFactory(suggested_price=Decimal("120.00"), metadata={"departmentId": "d1", "durationWeeks": 3})
    product_price_override(product_id=a.pk, price=Decimal("99.00"), actor="admin", now=timezone.now())
    b = ProductFactory(status="archived")
    with django_assert_max_num_queries(1):  # no bundle among them: no query for bundle items
        snapshots = catalog_port().products_get(product_ids=(str(b.pk), "not-a-uuid", str(a.pk),
                                                             "00000000-0000-0000-0000-000000000000"))
    assert [s.id for s in snapshots] == [str(b.pk), str(a.pk)]
    second = snapshots[1]
    assert isinstance(second, ProductSnapshot)
    assert (second.price, second.suggested_price, second.currency, second.status) == (
        Decimal("99.00"), Decimal("120.00"), "USD", "active")
    assert second.external_id == a.external_id and second.external_source == "lms" and second.type == "course"
    assert second.metadata["durationWeeks"] == 3 and second.purchasable
    assert not snapshots[0].purchasable
    with pytest.raises(dataclasses.FrozenInstanceError):
        second.price = Decimal(0)


def test_a_bundles_snapshot_lists_its_items_with_parts_that_sum_to_its_price(django_assert_max_num_queries):
    items = [ProductFactory(suggested_price=Decimal(p)) for p in ("50.00", "50.00", "50.00")]
    bundle = bundle_of(*items, price=Decimal("100.00"))
    with django_assert_max_num_queries(2):
        (snapshot,) = catalog_port().products_get(product_ids=(str(bundle.pk),))
    assert snapshot.type == "bundle" and snapshot.purchasable
    assert [i.product_id for i in snapshot.bundle_items] == [str(i.pk) for i in items]
    assert [i.allocated_price for i in snapshot.bundle_items] == [Decimal("33.33"), Decimal("33.33"),
                                                                  Decimal("33.34")]
    assert [i.external_id for i in snapshot.bundle_items] == [i.external_id for i in items]
    items[0].status = "archived"
    items[0].save()
    (snapshot,) = catalog_port().products_get(product_ids=(str(bundle.pk),))
    assert not snapshot.purchasable, "a bundle with an item off sale cannot be bought"


def test_bundle_split_divides_what_was_paid_after_a_discount():
    items = [ProductFactory(suggested_price=Decimal("100.00")), ProductFactory(suggested_price=Decimal("300.00"))]
    bundle = bundle_of(*items, price=Decimal("320.00"))
    parts = catalog_port().bundle_split(product_id=str(bundle.pk), amount=Decimal("288.01"))
    assert [p.allocated_price for p in parts] == [Decimal("72.00"), Decimal("216.01")]
    assert catalog_port().bundle_split(product_id=str(items[0].pk), amount=Decimal("1.00")) == ()


def test_product_by_external_id():
    product = ProductFactory(external_id="course-9")
    assert catalog_port().product_by_external_id(external_id="course-9").id == str(product.pk)
    with pytest.raises(ProductNotFound):
        catalog_port().product_by_external_id(external_id="course-9", external_source="other")


def test_coupon_redeem_runs_in_the_callers_transaction():
    CouponFactory(code="ONE", max_redemptions=1)
    lines = (line(ProductFactory()),)
    port = catalog_port()
    with pytest.raises(RuntimeError), transaction.atomic():
        port.coupon_redeem(code="ONE", user_id="u1", order_id="o1", lines=lines)
        raise RuntimeError("checkout failed")
    assert not CouponRedemption.objects.exists()
    with transaction.atomic():
        result = port.coupon_redeem(code="ONE", user_id="u1", order_id="o1", lines=lines)
    assert result.quote.discount == Decimal("10.00") and result.quote.lines[0].line_id == lines[0].line_id
    with pytest.raises(CouponExhausted):
        port.coupon_quote(code="ONE", user_id="u2", lines=lines)
    assert port.coupon_release(order_id="o1").released == 1
    assert port.coupon_quote(code="one", user_id="u2", lines=lines).discount == Decimal("10.00")
