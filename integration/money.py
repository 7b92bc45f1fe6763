"""Money: ``Decimal`` amounts with an ISO 4217 currency, quantized in one place.

Every app that computes an amount (prices, taxes, discounts, splits, ledger
entries, payouts) rounds it here, to the currency's minor unit as Babel's
CLDR data gives it (USD 2, JPY 0, KWD 3), half-even unless told otherwise.
No float ever reaches these functions: they refuse one.
"""

from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

from babel.numbers import format_currency, get_currency_precision

from integration.errors import ApplicationError


class InvalidAmountError(ApplicationError):
    status_code = 400
    code = "invalid_amount"
    default_message = "Amounts are exact decimals, never binary floats."


class UnknownCurrencyError(ApplicationError):
    status_code = 400
    code = "unknown_currency"
    default_message = "Not an ISO 4217 currency code."


def minor_digits(currency: str) -> int:
    """How many decimal places ``currency`` has (USD 2, JPY 0, KWD 3)."""
    code = (currency or "").upper()
    if len(code) != 3 or not code.isalpha():
        raise UnknownCurrencyError(details={"currency": currency})
    return get_currency_precision(code)


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of ``currency``: Decimal("0.01") for USD, Decimal("1") for JPY."""
    return Decimal(1).scaleb(-minor_digits(currency))


def to_decimal(value: Decimal | int | str) -> Decimal:
    if isinstance(value, float | bool):
        raise InvalidAmountError(details={"value": repr(value)})
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value))
    except ArithmeticError:
        raise InvalidAmountError(details={"value": str(value)[:40]}) from None
    if not result.is_finite():
        raise InvalidAmountError(details={"value": str(value)[:40]})
    return result


def quantize(amount: Decimal | int | str, currency: str, *, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """``amount`` rounded to ``currency``'s minor unit (half-even by default)."""
    return to_decimal(amount).quantize(minor_unit(currency), rounding=rounding)


def allocate(total: Decimal, weights: Sequence[Decimal], currency: str, *, remainder_to: int = -1) -> list[Decimal]:
    """Splits ``total`` in proportion to ``weights``; the parts sum exactly to ``total``.

    Each part is rounded half-even to the minor unit; what rounding leaves over
    (positive or negative) goes to the part at index ``remainder_to`` (the last
    by default). Should that turn the part's sign against the total's (a tiny
    weight last, its neighbours all rounded up), every part is rounded toward
    zero instead, so that what is left over has the total's sign: no part is
    ever negative for a positive total. With all weights zero the whole amount
    goes to that part.
    """
    total = quantize(total, currency)
    if not weights:
        raise InvalidAmountError("Nothing to allocate to.")
    weights = [to_decimal(weight) for weight in weights]
    if any(weight < 0 for weight in weights):
        raise InvalidAmountError("Weights are never negative.")
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        parts = [Decimal(0).quantize(minor_unit(currency))] * len(weights)
    else:
        parts = [quantize(total * weight / weight_sum, currency) for weight in weights]
    index = remainder_to % len(parts)
    left_over = total - sum(parts, Decimal(0))
    if (parts[index] + left_over) * total < 0:
        parts = [quantize(total * weight / weight_sum, currency, rounding=ROUND_DOWN) for weight in weights]
        left_over = total - sum(parts, Decimal(0))
    parts[index] += left_over
    return parts


def format_money(amount: Decimal, currency: str, *, locale: str = "en_US") -> str:
    """``amount`` for people: "$199.00", "¥1,200", "KWD 3.250"."""
    return format_currency(quantize(amount, currency), currency.upper(), locale=locale)
