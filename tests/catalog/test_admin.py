"""The admin for commerce-admins: products and price overrides, bundles, coupons; changes through services."""

from decimal import Decimal

import pytest

from catalog.models import Coupon, PriceChange, Product
from tests.catalog.factories import CouponFactory, ProductFactory, bundle_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, commerce_admin):
    client.force_login(commerce_admin)
    return client


@pytest.mark.parametrize("path", ["/admin/catalog/product/", "/admin/catalog/bundle/", "/admin/catalog/coupon/",
                                  "/admin/catalog/couponredemption/", "/admin/catalog/reconcilerun/",
                                  "/admin/catalog/product/?q=course&status=active&overridden=yes",
                                  "/admin/catalog/coupon/?q=save&kind=percent&is_active=1"])
def test_the_lists_open_for_a_commerce_admin(admin_client, path):
    product = ProductFactory()
    bundle_of(product, ProductFactory(), price=Decimal("150.00"))
    CouponFactory()
    assert admin_client.get(path).status_code == 200


def test_a_purchaser_is_kept_out(client, user):
    client.force_login(user)
    assert client.get("/admin/catalog/product/").status_code in (302, 403)


def test_the_price_override_is_saved_through_the_service_and_logged(admin_client, commerce_admin):
    product = ProductFactory(suggested_price=Decimal("100.00"))
    page = admin_client.get(f"/admin/catalog/product/{product.pk}/change/")
    assert page.status_code == 200 and b"Commerce decides" in page.content
    response = admin_client.post(f"/admin/catalog/product/{product.pk}/change/",
                                 {"price_override": "89.00", "override_reason": "spring sale",
                                  "price_changes-TOTAL_FORMS": "0", "price_changes-INITIAL_FORMS": "0"})
    assert response.status_code == 302, response.content[:2000]
    product.refresh_from_db()
    assert (product.price, product.price_override, product.price_overridden_by) == (
        Decimal("89.00"), Decimal("89.00"), str(commerce_admin.pk))
    assert PriceChange.objects.get().reason == "spring sale"


def test_the_clear_override_and_archive_actions(admin_client):
    product = ProductFactory(suggested_price=Decimal("100.00"), price_override=Decimal("50.00"))
    admin_client.post("/admin/catalog/product/", {"action": "clear_price_override", "_selected_action": [product.pk]})
    product.refresh_from_db()
    assert product.price == Decimal("100.00") and product.price_override is None
    admin_client.post("/admin/catalog/product/", {"action": "archive", "_selected_action": [product.pk]})
    product.refresh_from_db()
    assert product.status == "archived"


def test_a_bundle_is_made_in_the_admin(admin_client):
    a, b = ProductFactory(name="A", suggested_price=Decimal("100.00")), ProductFactory(name="B")
    response = admin_client.post("/admin/catalog/bundle/add/", {
        "slug": "a-and-b", "name": "A and B", "description": "Both", "currency": "USD", "bundle_price": "150.00",
        "products": [a.pk, b.pk],
        "bundle_items-TOTAL_FORMS": "0", "bundle_items-INITIAL_FORMS": "0"})
    assert response.status_code == 302, response.content[:3000]
    bundle = Product.objects.get(type="bundle")
    assert bundle.price == Decimal("150.00") and bundle.external_id == "bundle:a-and-b"
    assert [i.product_id for i in bundle.bundle_items.order_by("position")] == [a.pk, b.pk]
    assert admin_client.get(f"/admin/catalog/bundle/{bundle.pk}/change/").status_code == 200


def test_a_coupon_is_made_and_deactivated_in_the_admin(admin_client):
    response = admin_client.post("/admin/catalog/coupon/add/", {
        "code": "spring20", "description": "Spring", "kind": "percent", "percent_off": "20", "scope": "cart",
        "max_redemptions": "100", "max_per_user": "1", "is_active": "on",
        "redemptions-TOTAL_FORMS": "0", "redemptions-INITIAL_FORMS": "0"})
    assert response.status_code == 302, response.content[:3000]
    coupon = Coupon.objects.get()
    assert coupon.code == "SPRING20" and coupon.percent_off == Decimal("20")
    admin_client.post("/admin/catalog/coupon/", {"action": "deactivate", "_selected_action": [coupon.pk]})
    coupon.refresh_from_db()
    assert not coupon.is_active


def test_a_coupon_the_service_refuses_goes_back_to_the_form_and_is_not_logged(admin_client):
    from django.contrib.admin.models import LogEntry

    response = admin_client.post("/admin/catalog/coupon/add/", {
        "code": "BADAMOUNT", "kind": "amount", "amount_off": "5.001", "currency": "USD", "scope": "cart",
        "is_active": "on"})
    assert response.status_code == 302 and response["Location"] == "/admin/catalog/coupon/add/"
    assert not Coupon.objects.exists() and not LogEntry.objects.exists()


def _catalog(count: int) -> None:
    import uuid

    from django.utils import timezone

    from catalog.models import CouponRedemption
    from catalog.services.products import product_price_override

    for _ in range(count):
        a, b = ProductFactory(suggested_price=Decimal("100.00")), ProductFactory()
        product_price_override(product_id=a.pk, price=Decimal("80.00"), actor="admin", reason="sale",
                               now=timezone.now())
        bundle_of(a, b, price=Decimal("150.00"), name=f"Bundle {uuid.uuid4().hex[:6]}")
        coupon = CouponFactory()
        CouponRedemption.objects.create(coupon=coupon, user_id="u-1", order_id=str(uuid.uuid4()),
                                        discount=Decimal("5.00"), currency="USD", redeemed_at=timezone.now())


def test_the_catalog_lists_cost_the_same_for_two_rows_as_for_six(admin_client, django_assert_max_num_queries):
    from tests.admin_lists import assert_lists_flat

    _catalog(2)
    names = ["product", "bundle", "coupon", "couponredemption", "pricechange", "reconcilerun"]
    assert_lists_flat(admin_client, [f"/admin/catalog/{name}/" for name in names], more=lambda: _catalog(4),
                      max_queries=django_assert_max_num_queries, most=14)  # a commerce-admin's roles are read


def test_the_price_history_of_every_product_is_searchable_and_read_only(admin_client):
    product = ProductFactory(name="Rust for beginners", suggested_price=Decimal("100.00"))
    admin_client.post(f"/admin/catalog/product/{product.pk}/change/",
                      {"price_override": "70.00", "override_reason": "launch week",
                       "price_changes-TOTAL_FORMS": "0", "price_changes-INITIAL_FORMS": "0"})
    ProductFactory(name="Go in depth")
    page = admin_client.get("/admin/catalog/pricechange/", {"q": "rust"}).content.decode()
    assert "launch week" in page and "Rust for beginners" in page
    assert "launch week" not in admin_client.get("/admin/catalog/pricechange/", {"q": "go in"}).content.decode()
    change = PriceChange.objects.get()
    assert admin_client.get(f"/admin/catalog/pricechange/{change.pk}/delete/").status_code == 403
    assert admin_client.get("/admin/catalog/pricechange/add/").status_code == 403
