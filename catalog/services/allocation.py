"""Splitting an amount over parts so that the parts sum exactly, never below zero or above a cap.

Built on ``integration.money.allocate`` (proportional, half-even, remainder to
the last part). Half-even rounding can leave the last part a few minor units
below zero (tiny totals, a last part with a tiny weight) or, for discounts,
above what that line costs; the repair moves those minor units to the nearest
earlier parts that can take them, so the result stays exact and in bounds.
"""

from collections.abc import Sequence
from decimal import Decimal

from integration.money import allocate, quantize


def allocate_bounded(total: Decimal, weights: Sequence[Decimal], currency: str, *,
                     caps: Sequence[Decimal] | None = None) -> list[Decimal]:
    """``total`` split in proportion to ``weights``; each part in ``[0, caps[i]]``; the parts sum to ``total``.

    ``total`` must be within ``[0, sum(caps)]`` when caps are given.
    """
    total = quantize(total, currency)
    parts = allocate(total, list(weights), currency)
    upper = [quantize(cap, currency) for cap in caps] if caps is not None else [None] * len(parts)
    if total < 0 or (caps is not None and total > sum(upper, Decimal(0))):
        raise ValueError("the total cannot be split within the bounds")
    leftover = Decimal(0)
    for index, part in enumerate(parts):
        if part < 0:
            leftover += part
            parts[index] = part - part
        elif upper[index] is not None and part > upper[index]:
            leftover += part - upper[index]
            parts[index] = upper[index]
    for index in reversed(range(len(parts))):
        if leftover == 0:
            break
        if leftover > 0:
            room = leftover if upper[index] is None else min(leftover, upper[index] - parts[index])
            parts[index] += room
            leftover -= room
        else:
            taken = min(-leftover, parts[index])
            parts[index] -= taken
            leftover += taken
    return parts
