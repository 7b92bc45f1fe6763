"""integration/money.py: each currency's minor unit, half-even rounding, and allocations that sum exactly."""

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integration.money import (
    InvalidAmountError,
    UnknownCurrencyError,
    allocate,
    format_money,
    minor_digits,
    minor_unit,
    quantize,
    to_decimal,
)


@pytest.mark.parametrize("currency, digits", [("USD", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3),
                                              ("BHD", 3), ("usd", 2)])
def test_minor_digits_follow_iso_4217(currency, digits):
    assert minor_digits(currency) == digits
    assert minor_unit(currency) == Decimal(1).scaleb(-digits)


@pytest.mark.parametrize("currency", ["", "US", "USDX", "12$", None])
def test_a_code_that_is_not_three_letters_is_refused(currency):
    with pytest.raises(UnknownCurrencyError):
        minor_digits(currency)


@pytest.mark.parametrize("amount, currency, expected", [
    ("1.005", "USD", "1.00"), ("1.015", "USD", "1.02"), ("1.025", "USD", "1.02"), ("2.5", "JPY", "2"),
    ("3.5", "JPY", "4"), ("1200.49", "JPY", "1200"), ("0.0005", "KWD", "0.000"), ("0.0015", "KWD", "0.002"),
    ("3.2505", "KWD", "3.250"), ("-1.005", "USD", "-1.00"),
])
def test_quantize_rounds_half_to_even_at_the_minor_unit(amount, currency, expected):
    result = quantize(Decimal(amount), currency)
    assert result == Decimal(expected) and str(result) == expected


def test_quantize_can_round_another_way_when_asked():
    assert quantize(Decimal("1.005"), "USD", rounding=ROUND_HALF_UP) == Decimal("1.01")


@pytest.mark.parametrize("value", [1.5, True, "NaN", "Infinity", "abc"])
def test_floats_booleans_and_non_numbers_are_refused(value):
    with pytest.raises(InvalidAmountError):
        to_decimal(value)


def test_integers_and_strings_become_exact_decimals():
    assert to_decimal(3) == Decimal(3) and to_decimal("0.10") == Decimal("0.10")


def test_the_design_example_splits_exactly():
    """DESIGN.md section 6: $192.93 net split 30/40/30 → 57.88 / 77.17 / 57.88."""
    assert allocate(Decimal("192.93"), [Decimal("0.3"), Decimal("0.4"), Decimal("0.3")], "USD") == [
        Decimal("57.88"), Decimal("77.17"), Decimal("57.88")]


def test_the_remainder_goes_to_the_last_part_or_the_one_named():
    assert allocate(Decimal("100.00"), [Decimal(1)] * 3, "USD") == [Decimal("33.33"), Decimal("33.33"),
                                                                  Decimal("33.34")]
    assert allocate(Decimal("100.00"), [Decimal(1)] * 3, "USD", remainder_to=0) == [
        Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert allocate(Decimal("100"), [Decimal(1)] * 3, "JPY") == [Decimal(33), Decimal(33), Decimal(34)]
    assert allocate(Decimal("1.000"), [Decimal(1)] * 3, "KWD") == [Decimal("0.333"), Decimal("0.333"),
                                                                 Decimal("0.334")]


def test_all_zero_weights_give_everything_to_the_remainder_part():
    assert allocate(Decimal("5.00"), [Decimal(0), Decimal(0)], "USD") == [Decimal("0.00"), Decimal("5.00")]


def test_allocating_to_nothing_or_to_a_negative_weight_is_refused():
    with pytest.raises(InvalidAmountError):
        allocate(Decimal("1.00"), [], "USD")
    with pytest.raises(InvalidAmountError):
        allocate(Decimal("1.00"), [Decimal(1), Decimal(-1)], "USD")


def test_format_money_shows_each_currencys_minor_unit():
    assert format_money(Decimal("199"), "USD") == "$199.00"
    assert format_money(Decimal("1200"), "JPY") == "¥1,200"
    assert format_money(Decimal("3.25"), "KWD").endswith("3.250")


CURRENCIES = st.sampled_from(["USD", "EUR", "JPY", "KWD", "BHD", "KRW"])


@st.composite
def totals_and_weights(draw):
    currency = draw(CURRENCIES)
    digits = minor_digits(currency)
    total = Decimal(draw(st.integers(min_value=0, max_value=10**9))).scaleb(-digits)
    weights = draw(st.lists(st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False,
                                        allow_infinity=False), min_size=1, max_size=12))
    return currency, total, weights


@settings(max_examples=300, deadline=None)
@given(totals_and_weights())
def test_allocate_always_sums_exactly_to_the_total_in_minor_units(case):
    currency, total, weights = case
    parts = allocate(total, weights, currency)
    assert len(parts) == len(weights)
    assert sum(parts, Decimal(0)) == total
    unit = minor_unit(currency)
    assert all(part == part.quantize(unit) for part in parts)


@settings(max_examples=300, deadline=None)
@given(totals_and_weights())
def test_every_part_but_the_last_is_its_share_rounded_half_even(case):
    currency, total, weights = case
    weight_sum = sum(weights, Decimal(0))
    parts = allocate(total, weights, currency)
    if weight_sum == 0:
        assert parts[-1] == total
        return
    shares = [quantize(total * weight / weight_sum, currency) for weight in weights]
    if shares[-1] + total - sum(shares, Decimal(0)) < 0:
        shares = [quantize(total * weight / weight_sum, currency, rounding=ROUND_DOWN) for weight in weights]
    for part, share in zip(parts[:-1], shares[:-1], strict=True):
        assert part == share


@settings(max_examples=300, deadline=None)
@given(totals_and_weights())
def test_no_part_is_ever_negative(case):
    currency, total, weights = case
    assert all(part >= 0 for part in allocate(total, weights, currency))


def test_a_tiny_last_weight_under_neighbours_rounded_up_gets_what_is_left_not_less_than_nothing():
    """Found by hypothesis in a bundle: half-even gives 0.16 + 0.52 + 0.47 = 1.15 of 1.14."""
    weights = [Decimal("81.32"), Decimal("270.66"), Decimal("242.54"), Decimal("0.01")]
    parts = allocate(Decimal("1.14"), weights, "USD")
    assert parts == [Decimal("0.15"), Decimal("0.51"), Decimal("0.46"), Decimal("0.02")]
    assert allocate(Decimal("-1.14"), weights, "USD") == [-part for part in parts]


@pytest.mark.parametrize(("amount", "currency", "shown"), [
    (Decimal("199"), "USD", "199.00"), (Decimal("1200.0000"), "JPY", "1200"), (Decimal("3.25"), "KWD", "3.250"),
    (Decimal("-12.5000"), "EUR", "-12.50")])
def test_the_api_amount_field_shows_the_currencys_minor_digits(amount, currency, shown):
    from rest_framework import serializers

    from integration.api_fields import AmountField

    class Output(serializers.Serializer):
        total = AmountField(source="amount")
        currency = serializers.CharField()

    assert Output({"amount": amount, "currency": currency}).data["total"] == shown
