"""The one split calculation: an amount shared by weights, exact to the currency's minor unit.

Every part but the remainder's is ``amount * weight / sum(weights)`` rounded half-even
to the minor unit (``integration.money.quantize``); the remainder part (the
platform) gets what is left, so the parts always sum exactly to the amount.
Should the rounded parts together exceed the amount (several parts rounded up
while the remainder's own weight is tiny), the parts that rounded up the most give
back one minor unit each until they fit: no part is ever negative and every part
other than the remainder stays within one minor unit of its exact value.

Revenue configs split a sale by their shares; a refund mirrors a sale's splits by
calling the same function with the sale's split amounts as the weights.
"""

from collections.abc import Mapping
from decimal import Decimal

from integration.money import InvalidAmountError, minor_unit, quantize, to_decimal


def split_amount(*, amount: Decimal, currency: str, weights: Mapping[str, Decimal],
                 remainder_to: str) -> dict[str, Decimal]:
    """``amount`` shared among ``weights``' keys; ``remainder_to`` (one of the keys) takes the rounding.

    ``amount`` must already be a whole number of minor units and not negative;
    weights are not negative. With all weights zero the whole amount goes to ``remainder_to``.
    """
    amount = to_decimal(amount)
    if amount < 0:
        raise InvalidAmountError("An amount to split is never negative.", details={"amount": str(amount)})
    if quantize(amount, currency) != amount:
        raise InvalidAmountError("The amount has more decimals than the currency.",
                                 details={"amount": str(amount), "currency": currency})
    amount = quantize(amount, currency)  # "192.9300" from a 4-place column becomes "192.93"
    if remainder_to not in weights:
        raise InvalidAmountError("The remainder needs a part to go to.", details={"remainderTo": remainder_to})
    weights = {key: to_decimal(weight) for key, weight in weights.items()}
    if any(weight < 0 for weight in weights.values()):
        raise InvalidAmountError("Weights are never negative.")
    unit = minor_unit(currency)
    zero = quantize(0, currency)
    weight_sum = sum(weights.values(), Decimal(0))
    exact = {key: (amount * weight / weight_sum if weight_sum else Decimal(0))
             for key, weight in weights.items() if key != remainder_to}
    parts = {key: quantize(value, currency) for key, value in exact.items()}
    excess = sum(parts.values(), zero) - amount
    if excess > 0:
        rounded_up = sorted((key for key in parts if parts[key] > exact[key]),
                            key=lambda key: (exact[key] - parts[key], key))
        for key in rounded_up:
            if excess <= 0:
                break
            parts[key] -= unit
            excess -= unit
    parts[remainder_to] = amount - sum(parts.values(), zero)
    return {key: parts[key] for key in weights}
