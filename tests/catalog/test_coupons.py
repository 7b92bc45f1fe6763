"""Coupons: percent or amount, cart or product scope, window, total and per-user limits, redeem and release."""

import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from catalog.errors import (
    CouponCurrencyMismatch,
    CouponExhausted,
    CouponExpired,
    CouponInactive,
    CouponInvalid,
    CouponNotApplicable,
    CouponNotFound,
    CouponNotYetValid,
    CouponRedemptionConflict,
    CouponUserLimitReached,
)
from catalog.models import Coupon, CouponRedemption
from catalog.services.coupons import coupon_create, coupon_quote, coupon_redeem, coupon_release
from tests.catalog.factories import CouponFactory, ProductFactory, line

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def test_a_percent_cart_coupon_takes_its_share_split_over_the_lines_exactly():
    coupon = CouponFactory(code="TEN", percent_off=Decimal("10"))
    a, b, c = (ProductFactory(suggested_price=Decimal(p)) for p in ("33.33", "33.33", "33.35"))
    quote = coupon_quote(code="ten", user_id=None, lines=[line(a), line(b), line(c)], now=NOW)
    assert quote.discount == Decimal("10.00") and quote.coupon_id == str(coupon.pk)
    assert [d.discount for d in quote.lines] == [Decimal("3.33"), Decimal("3.33"), Decimal("3.34")]
    assert sum(d.discount for d in quote.lines) == quote.discount


def test_an_amount_coupon_never_takes_more_than_the_cart_costs():
    CouponFactory(code="FIFTY", kind="amount", percent_off=None, amount_off=Decimal("50.00"), currency="USD")
    cheap = ProductFactory(suggested_price=Decimal("20.00"))
    quote = coupon_quote(code="FIFTY", user_id=None, lines=[line(cheap)], now=NOW)
    assert quote.discount == Decimal("20.00") and quote.lines[0].discount == Decimal("20.00")


def test_an_amount_coupon_in_another_currency_or_a_mixed_cart_is_refused():
    CouponFactory(code="EUR5", kind="amount", percent_off=None, amount_off=Decimal("5.00"), currency="EUR")
    usd, eur = ProductFactory(), ProductFactory(currency="EUR")
    with pytest.raises(CouponCurrencyMismatch):
        coupon_quote(code="EUR5", user_id=None, lines=[line(usd)], now=NOW)
    with pytest.raises(CouponCurrencyMismatch):
        coupon_quote(code="EUR5", user_id=None, lines=[line(usd), line(eur)], now=NOW)


def test_a_product_coupon_applies_to_its_products_only():
    chosen, other = ProductFactory(suggested_price=Decimal("80.00")), ProductFactory()
    CouponFactory(code="ONLY", scope="product", percent_off=Decimal("25"), products=[chosen])
    quote = coupon_quote(code="ONLY", user_id=None, lines=[line(other), line(chosen)], now=NOW)
    assert [d.discount for d in quote.lines] == [Decimal("0.00"), Decimal("20.00")]
    with pytest.raises(CouponNotApplicable):
        coupon_quote(code="ONLY", user_id=None, lines=[line(other)], now=NOW)


def test_jpy_and_kwd_discounts_use_their_minor_units():
    CouponFactory(code="PCT", percent_off=Decimal("12.5"))
    yen = ProductFactory(suggested_price=Decimal("1001"), currency="JPY")
    dinar = ProductFactory(suggested_price=Decimal("3.333"), currency="KWD")
    assert coupon_quote(code="PCT", user_id=None, lines=[line(yen)], now=NOW).discount == Decimal("125")
    assert coupon_quote(code="PCT", user_id=None, lines=[line(dinar)], now=NOW).discount == Decimal("0.417")


@pytest.mark.parametrize("changes, error", [
    ({"is_active": False}, CouponInactive),
    ({"valid_from": NOW + timedelta(days=1)}, CouponNotYetValid),
    ({"valid_until": NOW}, CouponExpired),
    ({"valid_from": NOW - timedelta(days=2), "valid_until": NOW - timedelta(days=1)}, CouponExpired),
])
def test_a_coupon_outside_its_window_or_switched_off_is_refused(changes, error):
    CouponFactory(code="WINDOW", **changes)
    with pytest.raises(error):
        coupon_quote(code="WINDOW", user_id=None, lines=[line(ProductFactory())], now=NOW)


def test_an_unknown_code_is_not_found():
    with pytest.raises(CouponNotFound) as caught:
        coupon_quote(code="NOPE", user_id=None, lines=[line(ProductFactory())], now=NOW)
    assert caught.value.status_code == 404


def test_redeem_holds_a_use_and_release_gives_it_back_both_idempotent():
    coupon = CouponFactory(code="ONCE", max_redemptions=1, max_per_user=None)
    lines = [line(ProductFactory())]
    first = coupon_redeem(code="ONCE", user_id="u1", order_id="o1", lines=lines, now=NOW)
    again = coupon_redeem(code="ONCE", user_id="u1", order_id="o1", lines=lines, now=NOW)
    assert again.redemption_id == first.redemption_id and first.quote.discount == Decimal("10.00")
    with pytest.raises(CouponExhausted):
        coupon_redeem(code="ONCE", user_id="u2", order_id="o2", lines=lines, now=NOW)
    with pytest.raises(CouponExhausted):
        coupon_quote(code="ONCE", user_id="u2", lines=lines, now=NOW)
    assert coupon_release(order_id="o1", now=NOW).released == 1
    assert coupon_release(order_id="o1", now=NOW).released == 0
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 0
    assert coupon_redeem(code="ONCE", user_id="u2", order_id="o2", lines=lines, now=NOW).order_id == "o2"


def test_the_same_order_with_another_discount_is_a_conflict():
    CouponFactory(code="TEN")
    coupon_redeem(code="TEN", user_id="u1", order_id="o1", lines=[line(ProductFactory())], now=NOW)
    with pytest.raises(CouponRedemptionConflict):
        coupon_redeem(code="TEN", user_id="u1", order_id="o1", lines=[line(ProductFactory(), "500.00")], now=NOW)


def test_the_per_user_limit_counts_held_uses_only():
    CouponFactory(code="MINE", max_per_user=1)
    lines = [line(ProductFactory())]
    coupon_redeem(code="MINE", user_id="u1", order_id="o1", lines=lines, now=NOW)
    with pytest.raises(CouponUserLimitReached):
        coupon_redeem(code="MINE", user_id="u1", order_id="o2", lines=lines, now=NOW)
    with pytest.raises(CouponUserLimitReached):
        coupon_quote(code="MINE", user_id="u1", lines=lines, now=NOW)
    assert coupon_quote(code="MINE", user_id="u2", lines=lines, now=NOW).discount == Decimal("10.00")
    coupon_release(order_id="o1", now=NOW)
    assert coupon_redeem(code="MINE", user_id="u1", order_id="o2", lines=lines, now=NOW).order_id == "o2"


def test_a_failed_redemption_inside_the_callers_transaction_leaves_nothing():
    coupon = CouponFactory(code="TEN", max_redemptions=5)
    with pytest.raises(RuntimeError), transaction.atomic():
        coupon_redeem(code="TEN", user_id="u1", order_id="o1", lines=[line(ProductFactory())], now=NOW)
        raise RuntimeError("the order failed after the coupon was redeemed")
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 0 and not CouponRedemption.objects.exists()


@pytest.mark.parametrize("kwargs", [
    {"kind": "percent", "percent_off": "0"}, {"kind": "percent", "percent_off": "101"},
    {"kind": "amount", "amount_off": "5.00"}, {"kind": "amount", "amount_off": "5.001", "currency": "USD"},
    {"kind": "percent", "percent_off": 10.0}, {"kind": "bogus"},
    {"kind": "percent", "percent_off": "10", "scope": "product"},
    {"kind": "percent", "percent_off": "10", "valid_from": NOW, "valid_until": NOW - timedelta(hours=1)},
])
def test_a_malformed_coupon_is_refused_and_nothing_is_written(kwargs):
    with pytest.raises(CouponInvalid):
        coupon_create(code="BAD", now=NOW, **kwargs)
    assert not Coupon.objects.exists()


def test_codes_are_stored_in_capitals_and_unique():
    coupon_create(code=" welcome10 ", kind="percent", percent_off="10", now=NOW)
    assert Coupon.objects.get().code == "WELCOME10"
    with pytest.raises(CouponInvalid):
        coupon_create(code="WELCOME10", kind="percent", percent_off="5", now=NOW)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("limit_field", ["max_redemptions", "max_per_user"])
def test_concurrent_checkouts_never_pass_the_limit(limit_field):
    """Eight checkouts at once for a coupon with 3 uses left (or 1 per person): exactly 3 (or 1) pass."""
    limit = 3 if limit_field == "max_redemptions" else 1
    options = {"max_redemptions": 3, "max_per_user": None} if limit_field == "max_redemptions" else {
        "max_redemptions": None, "max_per_user": 1}
    coupon = CouponFactory(code="RACE", **options)
    lines = [line(ProductFactory())]
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def checkout(index: int) -> None:
        user_id = f"user-{index}" if limit_field == "max_redemptions" else "same-user"
        try:
            with transaction.atomic():
                barrier.wait(timeout=10)
                coupon_redeem(code="RACE", user_id=user_id, order_id=f"order-{uuid.uuid4()}", lines=lines,
                              now=timezone.now())
                # Hold the lock a moment, like a checkout that goes on to write its order.
                connection.cursor().execute("SELECT pg_sleep(0.05)")
            outcomes.append("ok")
        except (CouponExhausted, CouponUserLimitReached):
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=checkout, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["ok"] * limit + ["refused"] * (8 - limit)
    coupon.refresh_from_db()
    assert coupon.times_redeemed == limit
    assert CouponRedemption.objects.filter(coupon=coupon, status="redeemed").count() == limit
