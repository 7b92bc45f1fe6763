"""Carts (per user, per session, merged at login), bad input, and prices: bundles, coupons, taxes."""

from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from orders.errors import (
    CartCurrencyMismatch,
    CartDuplicateItem,
    CartEmpty,
    InvalidCountry,
    InvalidQuantity,
    SeatLimit,
)
from orders.models import Cart, TaxRate
from orders.services.carts import cart_coupon_set, cart_get_or_create, cart_item_add, cart_merge
from orders.services.checkout import checkout_create
from orders.services.pricing import cart_quote
from tests.orders.conftest import FakeCoupon

pytestmark = pytest.mark.django_db


def _cart(user):
    return cart_get_or_create(user_id=user.pk, now=timezone.now())


def _add(cart, product_id, user=None, quantity=1):
    return cart_item_add(cart=cart, product_id=product_id, quantity=quantity, user_id=user.pk if user else None,
                         now=timezone.now())


@pytest.mark.parametrize("quantity,error", [(0, InvalidQuantity), (-1, InvalidQuantity), ("x", InvalidQuantity),
                                            (True, InvalidQuantity), (None, InvalidQuantity), (2, SeatLimit)])
def test_a_bad_quantity_leaves_the_cart_as_it_was(buyer, products, quantity, error):
    cart = _cart(buyer)
    _add(cart, "p2", buyer)
    with pytest.raises(error):
        _add(cart, "p1", buyer, quantity=quantity)
    assert list(cart.items.values_list("product_id", flat=True)) == ["p2"]


def test_unknown_and_archived_products_are_refused(buyer, products):
    products.add(id="old", price="10.00", status="archived")
    cart = _cart(buyer)
    with pytest.raises(Exception) as unknown:
        _add(cart, "nope", buyer)
    assert unknown.value.status_code == 404 and "not_found" in unknown.value.code
    with pytest.raises(Exception) as archived:
        _add(cart, "old", buyer)
    assert archived.value.status_code in (409, 422) and "archived" in archived.value.code
    assert not cart.items.exists()


def test_one_currency_per_cart(buyer, products):
    products.add(id="eur", price="10.00", currency="EUR")
    cart = _cart(buyer)
    _add(cart, "p1", buyer)
    with pytest.raises(CartCurrencyMismatch):
        _add(cart, "eur", buyer)
    assert cart.items.count() == 1


def test_an_anonymous_cart_joins_the_users_at_login(buyer, products):
    anonymous = cart_get_or_create(session_key="s" * 32, now=timezone.now())
    _add(anonymous, "p1")
    _add(anonymous, "p2")
    mine = _cart(buyer)
    _add(mine, "p2", buyer)
    merged = cart_merge(anonymous_cart_id=anonymous.pk, user_id=buyer.pk, now=timezone.now())
    assert merged.pk == mine.pk
    assert sorted(merged.items.values_list("product_id", flat=True)) == ["p1", "p2"]
    assert not Cart.objects.filter(pk=anonymous.pk).exists()


def test_merge_leaves_out_what_the_user_already_owns(buyer, buy, lms):
    buy(buyer, "p1")
    anonymous = cart_get_or_create(session_key="t" * 32, now=timezone.now())
    _add(anonymous, "p1")
    _add(anonymous, "p2")
    merged = cart_merge(anonymous_cart_id=anonymous.pk, user_id=buyer.pk, now=timezone.now())
    assert list(merged.items.values_list("product_id", flat=True)) == ["p2"]


def test_an_empty_cart_cannot_check_out(buyer, products):
    _cart(buyer)
    with pytest.raises(CartEmpty):
        checkout_create(user_id=buyer.pk, now=timezone.now())


def test_exclusive_tax_is_added_and_inclusive_tax_is_inside_the_price(buyer, products):
    TaxRate.objects.create(country="AU", name="GST", rate=Decimal("0.10"), inclusive=False)
    TaxRate.objects.create(country="DE", name="VAT", rate=Decimal("0.19"), inclusive=True)
    cart = _cart(buyer)
    _add(cart, "p1", buyer)
    _add(cart, "p2", buyer)
    added = cart_quote(cart=cart, user_id=buyer.pk, billing_country="AU")
    assert (added.subtotal, added.tax, added.total) == (Decimal("249.00"), Decimal("24.90"), Decimal("273.90"))
    included = cart_quote(cart=cart, user_id=buyer.pk, billing_country="de")
    assert included.total == Decimal("249.00") and included.tax == Decimal("39.76")  # 249 - 249/1.19
    assert sum(line.tax for line in included.lines) == included.tax
    none = cart_quote(cart=cart, user_id=buyer.pk, billing_country="US")
    assert none.tax == 0 and none.total == Decimal("249.00")
    with pytest.raises(InvalidCountry):
        cart_quote(cart=cart, user_id=buyer.pk, billing_country="XX")


def test_the_order_keeps_its_tax_for_the_receipt(buyer, products):
    TaxRate.objects.create(country="FR", name="TVA", rate=Decimal("0.20"), inclusive=True)
    cart = _cart(buyer)
    _add(cart, "p1", buyer)
    order = checkout_create(user_id=buyer.pk, now=timezone.now(), billing_country="FR")
    assert (order.tax_name, order.tax_rate, order.tax_inclusive) == ("TVA", Decimal("0.2"), True)
    assert order.tax == Decimal("33.17") and order.total == Decimal("199.00")


def test_a_coupon_takes_its_discount_and_an_expired_one_is_refused_leaving_the_cart(buyer, products):
    products.coupons["TEN"] = FakeCoupon(code="TEN", percent=Decimal("10"))
    products.coupons["OLD"] = FakeCoupon(code="OLD", percent=Decimal("10"),
                                         valid_until=timezone.now() - timezone.timedelta(days=1))
    cart = _cart(buyer)
    _add(cart, "p1", buyer)
    cart_coupon_set(cart=cart, code="TEN", user_id=buyer.pk, now=timezone.now())
    quote = cart_quote(cart=cart, user_id=buyer.pk)
    assert quote.discount == Decimal("19.90") and quote.total == Decimal("179.10")
    with pytest.raises(Exception) as expired:
        cart_coupon_set(cart=cart, code="OLD", user_id=buyer.pk, now=timezone.now())
    assert expired.value.code == "test_coupon_expired"
    cart.refresh_from_db()
    assert cart.coupon_code == "TEN"


def test_an_exhausted_coupon_stops_checkout_and_writes_nothing(buyer, products):
    from orders.models import Order

    products.coupons["ONCE"] = FakeCoupon(code="ONCE", percent=Decimal("50"), max_redemptions=0)
    cart = _cart(buyer)
    _add(cart, "p1", buyer)
    with pytest.raises(Exception) as exhausted:
        checkout_create(user_id=buyer.pk, now=timezone.now(), coupon_code="ONCE")
    assert exhausted.value.code == "test_coupon_exhausted"
    assert not Order.objects.exists()


def test_a_bundle_becomes_one_line_per_course_at_its_allocated_price(buyer, products):
    products.add_bundle(id="b1", price="200.00", item_ids=["p1", "p2"])
    cart = _cart(buyer)
    _add(cart, "b1", buyer)
    order = checkout_create(user_id=buyer.pk, now=timezone.now())
    lines = list(order.lines.order_by("position"))
    assert [line.external_id for line in lines] == ["course-1", "course-2"]
    assert sum(line.total for line in lines) == Decimal("200.00") == order.total
    assert {line.bundle_product_id for line in lines} == {"b1"}


def test_a_bundle_holding_a_course_also_in_the_cart_is_refused(buyer, products):
    products.add_bundle(id="b1", price="200.00", item_ids=["p1", "p2"])
    cart = _cart(buyer)
    _add(cart, "b1", buyer)
    _add(cart, "p1", buyer)
    with pytest.raises(CartDuplicateItem):
        checkout_create(user_id=buyer.pk, now=timezone.now())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prices=st.lists(st.decimals(min_value="0.01", max_value="999.99", places=2), min_size=1, max_size=4),
       bundle_price=st.decimals(min_value="1.00", max_value="2000", places=2),
       percent=st.integers(min_value=0, max_value=100),
       tax=st.sampled_from([None, ("0.19", True), ("0.075", False)]))
# The last part priced 0.00: the discount's rounding cent went to it (a discount above its price).
@example(prices=[Decimal("0.05"), Decimal("0.37"), Decimal("0.37"), Decimal("0.01")], bundle_price=Decimal("1.20"),
         percent=1, tax=None)
def test_bundle_coupon_and_tax_parts_always_sum_exactly(buyer, catalog, prices, bundle_price, percent, tax):
    TaxRate.objects.filter(country="NL").delete()
    if tax:
        TaxRate.objects.create(country="NL", name="BTW", rate=Decimal(tax[0]), inclusive=tax[1])
    item_ids = []
    for index, price in enumerate(prices):
        catalog.add(id=f"h{index}", price=str(price), external_id=f"course-h{index}")
        item_ids.append(f"h{index}")
    catalog.add_bundle(id="hb", price=str(bundle_price), item_ids=item_ids)
    catalog.coupons["P"] = FakeCoupon(code="P", percent=Decimal(percent))
    cart = _cart(buyer)
    cart.items.all().delete()
    _add(cart, "hb", buyer)
    quote = cart_quote(cart=cart, user_id=buyer.pk, coupon_code="P", billing_country="NL")
    assert sum(line.subtotal for line in quote.lines) == quote.subtotal == bundle_price
    assert sum(line.discount for line in quote.lines) == quote.discount
    assert sum(line.tax for line in quote.lines) == quote.tax
    assert sum(line.total for line in quote.lines) == quote.total
    assert all(line.discount <= line.subtotal and line.total >= 0 for line in quote.lines)
    expected = bundle_price - quote.discount + (0 if not tax or tax[1] else quote.tax)
    assert quote.total == expected
