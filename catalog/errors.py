"""Catalog's errors; each becomes the one JSON error body (or a form error on a page)."""

from integration.errors import (
    ApplicationError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnprocessableError,
)


class ProductNotFound(NotFoundError):
    code = "product_not_found"
    default_message = "No such product."


class ProductArchived(ConflictError):
    code = "product_archived"
    default_message = "This product is no longer for sale."


class InvalidPrice(ApplicationError):
    status_code = 400
    code = "invalid_price"
    default_message = "A price is a non-negative amount in the product's currency."


class PriceOverrideForbidden(ForbiddenError):
    code = "price_override_forbidden"
    default_message = "Only a commerce-admin may set a product's price."


class BundleInvalid(UnprocessableError):
    code = "bundle_invalid"
    default_message = "A bundle holds at least two other active products in its own currency."


class CouponNotFound(NotFoundError):
    code = "coupon_not_found"
    default_message = "That coupon code is not valid."


class CouponInvalid(UnprocessableError):
    code = "coupon_invalid"
    default_message = "A coupon is a percent (above 0, at most 100) or an amount with its currency."


class CouponInactive(UnprocessableError):
    code = "coupon_inactive"
    default_message = "This coupon is not active."


class CouponNotYetValid(UnprocessableError):
    code = "coupon_not_yet_valid"
    default_message = "This coupon cannot be used yet."


class CouponExpired(UnprocessableError):
    code = "coupon_expired"
    default_message = "This coupon has expired."


class CouponExhausted(ConflictError):
    code = "coupon_exhausted"
    default_message = "This coupon has been used as many times as it may be."


class CouponUserLimitReached(ConflictError):
    code = "coupon_user_limit_reached"
    default_message = "You have already used this coupon as many times as it allows."


class CouponNotApplicable(UnprocessableError):
    code = "coupon_not_applicable"
    default_message = "This coupon does not apply to anything in the cart."


class CouponCurrencyMismatch(UnprocessableError):
    code = "coupon_currency_mismatch"
    default_message = "This coupon is in another currency than the cart."


class CouponRedemptionConflict(ConflictError):
    code = "coupon_redemption_conflict"
    default_message = "This order already used another amount of this coupon."


class ReconcileUnavailable(ApplicationError):
    status_code = 503
    code = "catalog_export_unavailable"
    default_message = "The LMS catalog export did not answer; the reconciliation will try again."


class CatalogSyncRace(ConflictError):
    code = "catalog_sync_race"
    default_message = "Another sync created the same product at the same moment; retry."
