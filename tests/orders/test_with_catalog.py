"""Orders against the real catalog app through ``CatalogPort`` (no stand-in): prices, a bundle, a coupon's use."""

from decimal import Decimal

import pytest
from django.utils import timezone

from orders.errors import CartCurrencyMismatch
from orders.models import OrderStatus
from orders.services.carts import cart_coupon_set, cart_get_or_create, cart_item_add
from orders.services.checkout import checkout_create, order_cancel
from orders.services.payments import order_pay
from tests.catalog.factories import CouponFactory, ProductFactory, bundle_of

pytestmark = pytest.mark.django_db


def test_a_purchase_with_a_bundle_and_a_coupon_through_the_catalog_port(buyer, lms):
    from catalog.models import Coupon

    first, second = ProductFactory(suggested_price=Decimal("60.00")), ProductFactory(suggested_price=Decimal("40.00"))
    bundle = bundle_of(first, second, price=Decimal("80.00"))
    CouponFactory(code="SAVE10", percent_off=Decimal("10"), max_redemptions=1)
    now = timezone.now()
    cart = cart_get_or_create(user_id=buyer.pk, now=now)
    cart_item_add(cart=cart, product_id=str(bundle.pk), user_id=buyer.pk, now=now)
    cart_coupon_set(cart=cart, code="save10", user_id=buyer.pk, now=now)
    order = checkout_create(user_id=buyer.pk, now=now)
    lines = list(order.lines.order_by("position"))
    assert [line.external_id for line in lines] == [first.external_id, second.external_id]
    assert order.subtotal == Decimal("80.00") and order.discount == Decimal("8.00") and order.total == Decimal("72.00")
    assert sum(line.total for line in lines) == order.total
    assert Coupon.objects.get(code="SAVE10").redemptions.count() == 1
    order_pay(order_id=order.pk, user_id=buyer.pk, now=now, payment_method="pm_card_visa")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_canceling_an_unpaid_order_gives_the_coupon_use_back(buyer):
    from catalog.models import Coupon

    product = ProductFactory()
    CouponFactory(code="ONCE", percent_off=Decimal("50"), max_redemptions=1)
    now = timezone.now()
    cart = cart_get_or_create(user_id=buyer.pk, now=now)
    cart_item_add(cart=cart, product_id=str(product.pk), user_id=buyer.pk, now=now)
    order = checkout_create(user_id=buyer.pk, now=now, coupon_code="ONCE")
    order_cancel(order=order, now=now, actor="test", reason="test")
    coupon = Coupon.objects.get(code="ONCE")
    assert coupon.times_redeemed == 0 and list(coupon.redemptions.values_list("status", flat=True)) == ["released"]
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED


def test_catalog_errors_reach_the_buyer(buyer):
    archived = ProductFactory(status="archived")
    euros = ProductFactory(currency="EUR")
    dollars = ProductFactory()
    cart = cart_get_or_create(user_id=buyer.pk, now=timezone.now())
    with pytest.raises(Exception) as refused:
        cart_item_add(cart=cart, product_id=str(archived.pk), user_id=buyer.pk, now=timezone.now())
    assert refused.value.code == "product_archived"
    with pytest.raises(Exception) as unknown:
        cart_item_add(cart=cart, product_id="00000000-0000-0000-0000-000000000000", user_id=buyer.pk,
                      now=timezone.now())
    assert unknown.value.code == "product_not_found" and unknown.value.status_code == 404
    cart_item_add(cart=cart, product_id=str(dollars.pk), user_id=buyer.pk, now=timezone.now())
    with pytest.raises(CartCurrencyMismatch):
        cart_item_add(cart=cart, product_id=str(euros.pk), user_id=buyer.pk, now=timezone.now())
    with pytest.raises(Exception) as expired:
        CouponFactory(code="GONE", valid_until=timezone.now() - timezone.timedelta(days=1))
        cart_coupon_set(cart=cart, code="GONE", user_id=buyer.pk, now=timezone.now())
    assert expired.value.code == "coupon_expired"
