"""Coupons: percent or amount off, on the whole cart or on chosen products, within a window and limits.

The discount is worked out once (:func:`coupon_discount`) for quotes and
redemptions alike: a percent coupon takes that percent of the eligible lines'
total (half-even to the currency's minor unit); an amount coupon takes its
amount off the eligible lines once, never more than they cost. The discount is
then split over the eligible lines in proportion to their amounts, the rounding
remainder to the last line, each line's part never above its amount, so the
parts sum exactly to the discount.

Limits under concurrency: :func:`coupon_redeem` locks the coupon's row
(``SELECT … FOR UPDATE``), counts the user's held redemptions, then raises the
held-count with a conditional UPDATE that cannot pass the total limit (so it
holds even where row locks are not available), and writes the redemption,
unique per coupon and order. All of it in the caller's transaction.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import F, Q

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
from catalog.models import Coupon, CouponKind, CouponRedemption, CouponScope, Product, RedemptionStatus
from catalog.services.allocation import allocate_bounded
from integration.contracts.catalog import (
    CouponLine,
    CouponLineDiscount,
    CouponQuote,
    CouponRedemptionResult,
    CouponReleaseResult,
)
from integration.money import quantize


def coupon_code_normalize(code: str) -> str:
    return (code or "").strip().upper()


def _decimal(value, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, float | bool):
        raise CouponInvalid(details={field: "a decimal, not a float"})
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise CouponInvalid(details={field: str(value)[:40]}) from None
    if not result.is_finite():
        raise CouponInvalid(details={field: str(value)[:40]})
    return result


@transaction.atomic
def coupon_create(*, code: str, kind: str, percent_off=None, amount_off=None, currency: str = "",
                  scope: str = CouponScope.CART, product_ids: Sequence = (), valid_from: datetime | None = None,
                  valid_until: datetime | None = None, max_redemptions: int | None = None,
                  max_per_user: int | None = 1, description: str = "", now: datetime) -> Coupon:
    code = coupon_code_normalize(code)
    if not code or len(code) > 64:
        raise CouponInvalid("A coupon code is 1 to 64 characters.", details={"code": code})
    percent, amount = _decimal(percent_off, "percentOff"), _decimal(amount_off, "amountOff")
    currency = (currency or "").upper()
    if kind == CouponKind.PERCENT:
        if percent is None or not Decimal(0) < percent <= 100 or amount is not None:
            raise CouponInvalid(details={"percentOff": str(percent)})
        currency = ""
    elif kind == CouponKind.AMOUNT:
        if amount is None or amount <= 0 or percent is not None or not currency:
            raise CouponInvalid(details={"amountOff": str(amount), "currency": currency})
        if quantize(amount, currency) != amount:
            raise CouponInvalid(f"{currency} amounts have fewer decimal places.", details={"amountOff": str(amount)})
    else:
        raise CouponInvalid(details={"kind": kind})
    if scope not in CouponScope.values:
        raise CouponInvalid(details={"scope": scope})
    if valid_from and valid_until and valid_until <= valid_from:
        raise CouponInvalid("The coupon's window ends before it starts.")
    products = list(Product.objects.filter(pk__in=[str(p) for p in product_ids])) if product_ids else []
    if scope == CouponScope.PRODUCT and not products:
        raise CouponInvalid("A product coupon names at least one product.", details={"productIds": []})
    if Coupon.objects.filter(code=code).exists():
        raise CouponInvalid("This code exists already.", details={"code": code})
    coupon = Coupon.objects.create(
        code=code, kind=kind, percent_off=percent, amount_off=amount, currency=currency, scope=scope,
        valid_from=valid_from, valid_until=valid_until, max_redemptions=max_redemptions,
        max_per_user=max_per_user, description=description, created_at=now, updated_at=now)
    if products:
        coupon.products.set(products)
    return coupon


def _coupon_by_code(code: str, *, lock: bool = False) -> Coupon:
    queryset = Coupon.objects.select_for_update() if lock else Coupon.objects
    coupon = queryset.filter(code=coupon_code_normalize(code)).first()
    if coupon is None:
        raise CouponNotFound(details={"code": coupon_code_normalize(code)})
    return coupon


def _check_usable(coupon: Coupon, *, now: datetime) -> None:
    if not coupon.is_active:
        raise CouponInactive(details={"code": coupon.code})
    if coupon.valid_from and now < coupon.valid_from:
        raise CouponNotYetValid(details={"code": coupon.code, "validFrom": coupon.valid_from.isoformat()})
    if coupon.valid_until and now >= coupon.valid_until:
        raise CouponExpired(details={"code": coupon.code, "validUntil": coupon.valid_until.isoformat()})


def _held(coupon: Coupon, *, user_id: str | None = None, exclude_order: str | None = None) -> int:
    queryset = CouponRedemption.objects.filter(coupon=coupon, status=RedemptionStatus.REDEEMED)
    if user_id is not None:
        queryset = queryset.filter(user_id=str(user_id))
    if exclude_order is not None:
        queryset = queryset.exclude(order_id=exclude_order)
    return queryset.count()


def _check_limits(coupon: Coupon, *, user_id: str | None) -> None:
    if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        raise CouponExhausted(details={"code": coupon.code})
    if user_id and coupon.max_per_user is not None and _held(coupon, user_id=user_id) >= coupon.max_per_user:
        raise CouponUserLimitReached(details={"code": coupon.code})


def coupon_discount(*, coupon: Coupon, lines: Sequence[CouponLine]) -> CouponQuote:
    """What ``coupon`` takes off ``lines`` (no validity or limit check: see :func:`coupon_quote`)."""
    if not lines:
        raise CouponNotApplicable(details={"code": coupon.code, "lines": 0})
    currencies = {line.currency for line in lines}
    if len(currencies) != 1:
        raise CouponCurrencyMismatch("The cart holds more than one currency.", details={"currencies": sorted(currencies)})
    currency = currencies.pop()
    if coupon.kind == CouponKind.AMOUNT and coupon.currency != currency:
        raise CouponCurrencyMismatch(details={"coupon": coupon.currency, "cart": currency})
    if coupon.scope == CouponScope.PRODUCT:
        eligible_ids = {str(pk) for pk in coupon.products.values_list("pk", flat=True)}
        eligible = [index for index, line in enumerate(lines) if str(line.product_id) in eligible_ids]
    else:
        eligible = list(range(len(lines)))
    if not eligible:
        raise CouponNotApplicable(details={"code": coupon.code})
    amounts = [quantize(lines[index].amount, currency) for index in eligible]
    base = sum(amounts, Decimal(0))
    if coupon.kind == CouponKind.PERCENT:
        total = quantize(base * coupon.percent_off / 100, currency)
    else:
        total = min(quantize(coupon.amount_off, currency), base)
    parts = allocate_bounded(total, amounts, currency, caps=amounts) if base > 0 else [Decimal(0)] * len(amounts)
    discounts = dict(zip(eligible, parts, strict=True))
    zero = quantize(0, currency)
    return CouponQuote(
        code=coupon.code, coupon_id=str(coupon.pk), kind=coupon.kind, scope=coupon.scope, currency=currency,
        discount=quantize(total, currency),
        lines=tuple(CouponLineDiscount(line_id=str(line.line_id), product_id=str(line.product_id),
                                       discount=discounts.get(index, zero)) for index, line in enumerate(lines)))


def coupon_quote(*, code: str, user_id: str | None, lines: Sequence[CouponLine], now: datetime) -> CouponQuote:
    """The discount ``code`` gives on ``lines`` now, after checking window and limits; reserves nothing."""
    coupon = _coupon_by_code(code)
    _check_usable(coupon, now=now)
    _check_limits(coupon, user_id=user_id)
    return coupon_discount(coupon=coupon, lines=lines)


def _result(redemption: CouponRedemption, quote: CouponQuote) -> CouponRedemptionResult:
    return CouponRedemptionResult(redemption_id=str(redemption.pk), order_id=redemption.order_id,
                                  user_id=redemption.user_id, quote=quote)


@transaction.atomic
def coupon_redeem(*, code: str, user_id: str, order_id: str, lines: Sequence[CouponLine],
                  now: datetime) -> CouponRedemptionResult:
    """One use of ``code`` reserved for ``order_id`` (see the module's notes on concurrency)."""
    user_id, order_id = str(user_id), str(order_id)
    if not user_id or not order_id:
        raise CouponInvalid("Redeeming a coupon needs a user and an order.")
    coupon = _coupon_by_code(code, lock=True)
    quote = coupon_discount(coupon=coupon, lines=lines)
    existing = CouponRedemption.objects.filter(coupon=coupon, order_id=order_id).first()
    if existing is not None and existing.status == RedemptionStatus.REDEEMED:
        if existing.discount != quote.discount or existing.user_id != user_id:
            raise CouponRedemptionConflict(details={"orderId": order_id, "code": coupon.code})
        return _result(existing, quote)
    _check_usable(coupon, now=now)
    if coupon.max_per_user is not None and _held(coupon, user_id=user_id) >= coupon.max_per_user:
        raise CouponUserLimitReached(details={"code": coupon.code})
    within_limit = Q(max_redemptions__isnull=True) | Q(times_redeemed__lt=F("max_redemptions"))
    if not Coupon.objects.filter(within_limit, pk=coupon.pk).update(times_redeemed=F("times_redeemed") + 1,
                                                                    updated_at=now):
        raise CouponExhausted(details={"code": coupon.code})
    if existing is not None:
        existing.status, existing.user_id, existing.discount = RedemptionStatus.REDEEMED, user_id, quote.discount
        existing.currency, existing.redeemed_at, existing.released_at = quote.currency, now, None
        existing.save(update_fields=["status", "user_id", "discount", "currency", "redeemed_at", "released_at"])
        return _result(existing, quote)
    try:
        with transaction.atomic():
            redemption = CouponRedemption.objects.create(
                coupon=coupon, user_id=user_id, order_id=order_id, discount=quote.discount,
                currency=quote.currency, status=RedemptionStatus.REDEEMED, redeemed_at=now)
    except IntegrityError:
        # Only without row locks (SQLite) can a concurrent redemption of this order get here first.
        raise CouponRedemptionConflict(details={"orderId": order_id, "code": coupon.code}) from None
    return _result(redemption, quote)


@transaction.atomic
def coupon_release(*, order_id: str, now: datetime) -> CouponReleaseResult:
    """Gives back every use ``order_id`` holds; idempotent."""
    released = 0
    held = (CouponRedemption.objects.select_for_update()
            .filter(order_id=str(order_id), status=RedemptionStatus.REDEEMED))
    for redemption in held:
        redemption.status, redemption.released_at = RedemptionStatus.RELEASED, now
        redemption.save(update_fields=["status", "released_at"])
        Coupon.objects.filter(pk=redemption.coupon_id, times_redeemed__gt=0).update(
            times_redeemed=F("times_redeemed") - 1, updated_at=now)
        released += 1
    return CouponReleaseResult(order_id=str(order_id), released=released)


@transaction.atomic
def coupons_deactivate(*, coupon_ids: Sequence, now: datetime) -> int:
    return Coupon.objects.filter(pk__in=[uuid.UUID(str(pk)) for pk in coupon_ids], is_active=True).update(
        is_active=False, updated_at=now)


@transaction.atomic
def coupon_update(*, coupon_id, now: datetime, is_active: bool | None = None, description: str | None = None,
                  valid_from: datetime | None = None, valid_until: datetime | None = None,
                  max_redemptions: int | None = None, max_per_user: int | None = None) -> Coupon:
    """What a commerce-admin may change on a coupon in use: its window, limits, text and whether it is on.

    Kind, value, currency and scope stay as they were, so past quotes keep their meaning.
    A total limit below the uses already held is refused.
    """
    coupon = Coupon.objects.select_for_update().filter(pk=coupon_id).first()
    if coupon is None:
        raise CouponNotFound(details={"couponId": str(coupon_id)})
    if valid_from and valid_until and valid_until <= valid_from:
        raise CouponInvalid("The coupon's window ends before it starts.")
    if max_redemptions is not None and max_redemptions < coupon.times_redeemed:
        raise CouponInvalid(f"{coupon.times_redeemed} uses are held already; the limit cannot be lower.",
                            details={"maxRedemptions": max_redemptions})
    if is_active is not None:
        coupon.is_active = is_active
    if description is not None:
        coupon.description = description
    coupon.valid_from, coupon.valid_until = valid_from, valid_until
    coupon.max_redemptions, coupon.max_per_user = max_redemptions, max_per_user
    coupon.updated_at = now
    coupon.save()
    return coupon
