"""Bundles (revenue split over the items by their prices, remainder to the last) and the allocation
properties of a bundle bought with a coupon: every split sums exactly, no part below zero or above its line."""

from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.errors import BundleInvalid, ProductNotFound
from catalog.models import BundleItem, Product
from catalog.services.allocation import allocate_bounded
from catalog.services.bundles import bundle_allocation, bundle_create, bundle_items_set
from catalog.services.coupons import coupon_discount
from integration.contracts.catalog import CouponLine
from integration.money import minor_digits, minor_unit
from tests.catalog.factories import CouponFactory, ProductFactory, bundle_of

NOW = timezone.now()


def test_the_bundle_price_is_split_by_the_items_prices_with_the_remainder_to_the_last():
    assert bundle_allocation(amount=Decimal("100.00"), item_prices=[Decimal("50"), Decimal("50"), Decimal("50")],
                             currency="USD") == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
    assert bundle_allocation(amount=Decimal("150.00"), item_prices=[Decimal("100"), Decimal("200")],
                             currency="USD") == [Decimal("50.00"), Decimal("100.00")]
    assert bundle_allocation(amount=Decimal("1000"), item_prices=[Decimal("1"), Decimal("2")],
                             currency="JPY") == [Decimal("333"), Decimal("667")]


def test_a_tiny_total_never_gives_an_item_less_than_nothing():
    # Half-even would give each of the first five 0.01 and leave the last -0.02.
    parts = allocate_bounded(Decimal("0.03"), [Decimal(1)] * 5 + [Decimal(0)], "USD")
    assert sum(parts) == Decimal("0.03") and min(parts) >= 0


@pytest.mark.django_db
def test_bundle_create_checks_its_items():
    a, b = ProductFactory(), ProductFactory()
    bundle = bundle_create(slug="pair", name="Pair", price=Decimal("150.00"), currency="USD",
                           product_ids=[a.pk, b.pk], now=NOW)
    assert bundle.type == "bundle" and bundle.price == Decimal("150.00")
    assert list(BundleItem.objects.filter(bundle=bundle).order_by("position").values_list("product", flat=True)) == [
        a.pk, b.pk]
    euro = ProductFactory(currency="EUR")
    for product_ids, error in [([a.pk], BundleInvalid), ([a.pk, a.pk], BundleInvalid), ([a.pk, euro.pk], BundleInvalid),
                               ([a.pk, bundle.pk], BundleInvalid), ([a.pk, "nope"], ProductNotFound)]:
        with pytest.raises(error):
            bundle_create(slug="x", name="X", price=Decimal("1.00"), currency="USD", product_ids=product_ids, now=NOW)
    with pytest.raises(BundleInvalid):
        bundle_create(slug="pair", name="Again", price=Decimal("1.00"), currency="USD", product_ids=[a.pk, b.pk],
                      now=NOW)
    assert Product.objects.filter(type="bundle").count() == 1


@pytest.mark.django_db
def test_bundle_items_can_be_replaced():
    a, b, c = ProductFactory(), ProductFactory(), ProductFactory()
    bundle = bundle_of(a, b, price=Decimal("150.00"))
    bundle_items_set(bundle_id=bundle.pk, product_ids=[c.pk, a.pk], now=NOW)
    assert list(bundle.bundle_items.order_by("position").values_list("product", flat=True)) == [c.pk, a.pk]


CURRENCIES = st.sampled_from(["USD", "JPY", "KWD"])


def _amount(currency: str, low: int, high: int):
    digits = minor_digits(currency)
    return st.integers(min_value=low, max_value=high).map(lambda n: Decimal(n).scaleb(-digits))


@st.composite
def bundle_and_coupon(draw):
    currency = draw(CURRENCIES)
    item_prices = draw(st.lists(_amount(currency, 0, 10**7), min_size=2, max_size=6))
    bundle_price = draw(_amount(currency, 0, 10**7))
    other_lines = draw(st.lists(_amount(currency, 0, 10**6), max_size=4))
    kind = draw(st.sampled_from(["percent", "amount"]))
    percent = draw(st.decimals(min_value=Decimal("0.01"), max_value=100, places=2))
    amount_off = draw(_amount(currency, 1, 10**7))
    return currency, item_prices, bundle_price, other_lines, kind, percent, amount_off


@pytest.mark.django_db
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(case=bundle_and_coupon())
def test_a_bundle_bought_with_a_coupon_allocates_exactly(case):
    currency, item_prices, bundle_price, other_lines, kind, percent, amount_off = case
    coupon = CouponFactory.build(kind=kind, percent_off=percent if kind == "percent" else None,
                                 amount_off=amount_off if kind == "amount" else None,
                                 currency=currency if kind == "amount" else "", scope="cart")
    lines = [CouponLine(line_id="bundle", product_id="b", amount=bundle_price, currency=currency)] + [
        CouponLine(line_id=f"l{i}", product_id=f"p{i}", amount=amount, currency=currency)
        for i, amount in enumerate(other_lines)]
    cart_total = sum((line.amount for line in lines), Decimal(0))
    quote = coupon_discount(coupon=coupon, lines=lines)
    unit = minor_unit(currency)

    # The discount: within the cart, split over the lines exactly, each part within its line.
    assert Decimal(0) <= quote.discount <= cart_total
    assert sum(d.discount for d in quote.lines) == quote.discount
    for line, discounted in zip(lines, quote.lines, strict=True):
        assert Decimal(0) <= discounted.discount <= line.amount
        assert discounted.discount == discounted.discount.quantize(unit)

    # What was paid for the bundle, split over its items by their prices: exact, none below zero.
    paid = bundle_price - quote.lines[0].discount
    parts = bundle_allocation(amount=paid, item_prices=item_prices, currency=currency)
    assert sum(parts, Decimal(0)) == paid
    assert all(part >= 0 and part == part.quantize(unit) for part in parts)
    if sum(item_prices) > 0 and paid > 0:
        # Proportional: each part within a few minor units of its exact share.
        for part, price in zip(parts, item_prices, strict=True):
            assert abs(part - paid * price / sum(item_prices)) <= unit * len(parts)
