"""The one split function: the worked example of DESIGN.md section 6, and its properties over any input."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integration.money import InvalidAmountError, minor_unit
from revenue.splits import split_amount

RECIPIENTS = ("instructor", "creator", "affiliate", "platform")


def test_design_worked_example_199_dollars_net_30_40_30():
    gross = Decimal("199.00")
    fee = (gross * Decimal("0.029") + Decimal("0.30")).quantize(Decimal("0.01"))
    assert fee == Decimal("6.07")
    net = gross - fee
    assert net == Decimal("192.93")
    parts = split_amount(amount=net, currency="USD", remainder_to="platform",
                         weights={"platform": Decimal("0.30"), "creator": Decimal("0.40"),
                                  "instructor": Decimal("0.30")})
    assert parts == {"platform": Decimal("57.88"), "creator": Decimal("77.17"), "instructor": Decimal("57.88")}
    assert sum(parts.values()) == net


def test_remainder_goes_to_the_platform():
    parts = split_amount(amount=Decimal("100.00"), currency="USD", remainder_to="platform",
                         weights={"a": Decimal("0.3333"), "b": Decimal("0.3333"), "platform": Decimal("0.3334")})
    assert parts == {"a": Decimal("33.33"), "b": Decimal("33.33"), "platform": Decimal("33.34")}


def test_parts_that_round_up_give_back_a_unit_rather_than_the_platform_going_negative():
    parts = split_amount(amount=Decimal("0.03"), currency="USD", remainder_to="platform",
                         weights={"a": Decimal("0.5"), "b": Decimal("0.5"), "platform": Decimal("0")})
    assert sum(parts.values()) == Decimal("0.03")
    assert all(part >= 0 for part in parts.values())
    assert parts["platform"] == Decimal("0.00")
    assert sorted([parts["a"], parts["b"]]) == [Decimal("0.01"), Decimal("0.02")]


def test_zero_and_three_decimal_currencies():
    yen = split_amount(amount=Decimal("1001"), currency="JPY", remainder_to="platform",
                       weights={"creator": Decimal("0.5"), "platform": Decimal("0.5")})
    assert yen == {"creator": Decimal("500"), "platform": Decimal("501")}  # 500.5 rounds half-even to 500
    dinar = split_amount(amount=Decimal("10.000"), currency="KWD", remainder_to="platform",
                         weights={"creator": Decimal("0.3333"), "platform": Decimal("0.6667")})
    assert dinar == {"creator": Decimal("3.333"), "platform": Decimal("6.667")}


def test_refuses_amounts_finer_than_the_currency_and_negative_amounts():
    with pytest.raises(InvalidAmountError):
        split_amount(amount=Decimal("1.005"), currency="USD", weights={"platform": Decimal(1)}, remainder_to="platform")
    with pytest.raises(InvalidAmountError):
        split_amount(amount=Decimal("-1.00"), currency="USD", weights={"platform": Decimal(1)},
                     remainder_to="platform")
    with pytest.raises(InvalidAmountError):
        split_amount(amount=1.5, currency="USD", weights={"platform": Decimal(1)}, remainder_to="platform")


CURRENCIES = st.sampled_from(["USD", "EUR", "JPY", "KWD", "BHD", "CLP"])


@st.composite
def shares(draw):
    """Four shares in basis points that sum to exactly 1, like a revenue config's."""
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=10_000), min_size=3, max_size=3)))
    points = [cuts[0], cuts[1] - cuts[0], cuts[2] - cuts[1], 10_000 - cuts[2]]
    return {name: Decimal(value) / 10_000 for name, value in zip(RECIPIENTS, points, strict=True)}


@settings(max_examples=400, deadline=None)
@given(currency=CURRENCIES, minor_units=st.integers(min_value=0, max_value=10**13), weights=shares())
def test_splits_sum_exactly_and_stay_in_bounds(currency, minor_units, weights):
    unit = minor_unit(currency)
    amount = Decimal(minor_units) * unit
    parts = split_amount(amount=amount, currency=currency, weights=weights, remainder_to="platform")
    assert set(parts) == set(RECIPIENTS)
    assert sum(parts.values()) == amount
    for name, part in parts.items():
        assert part == part.quantize(unit)  # whole minor units
        assert Decimal(0) <= part <= amount
        if name != "platform":
            assert abs(part - amount * weights[name]) <= unit  # within one minor unit of the exact share
    # The platform absorbs only rounding: at most half a unit per other part, or one when one gave a unit back.
    assert abs(parts["platform"] - amount * weights["platform"]) <= unit * 3


@settings(max_examples=300, deadline=None)
@given(currency=CURRENCIES, minor_units=st.integers(min_value=1, max_value=10**11), weights=shares(),
       refunded=st.integers(min_value=0, max_value=10_000))
def test_a_refund_mirrors_the_sale_pro_rata_and_never_takes_back_more_than_a_part(currency, minor_units, weights,
                                                                                   refunded):
    unit = minor_unit(currency)
    amount = Decimal(minor_units) * unit
    sale = split_amount(amount=amount, currency=currency, weights=weights, remainder_to="platform")
    refund_total = (amount * refunded / 10_000).quantize(unit)
    refund = split_amount(amount=refund_total, currency=currency, weights=sale, remainder_to="platform")
    assert sum(refund.values()) == refund_total
    for name, part in refund.items():
        assert part >= 0
        if name != "platform":
            assert part <= sale[name]
    if refund_total == amount:
        assert refund == sale  # a full refund takes back exactly what each part got
