"""Every error orders raises: one class per code (codes are unique project-wide)."""

from integration.errors import (
    ApplicationError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnprocessableError,
)


class AlreadyOwned(ConflictError):
    code = "already_owned"
    default_message = "You already own this, or a paid order for it is on its way."


class CartEmpty(UnprocessableError):
    code = "cart_empty"
    default_message = "The cart is empty."


class CartItemNotFound(NotFoundError):
    code = "cart_item_not_found"
    default_message = "That item is not in your cart."


class CartCurrencyMismatch(ConflictError):
    code = "cart_currency_mismatch"
    default_message = "Everything in one cart is paid in one currency; this product is priced in another."


class InvalidQuantity(ApplicationError):
    status_code = 400
    code = "invalid_quantity"
    default_message = "The quantity is a whole number of at least 1."


class SeatLimit(UnprocessableError):
    code = "one_seat_per_product"
    default_message = "A course or program is bought once per learner; the quantity is 1."


class ProductNotPurchasable(UnprocessableError):
    code = "product_not_purchasable"
    default_message = "This product cannot be bought right now."


class OrderNotFound(NotFoundError):
    code = "order_not_found"
    default_message = "No such order."


class InvalidOrderTransition(ConflictError):
    code = "invalid_order_transition"
    default_message = "The order cannot move to that state from the one it is in."


class OrderNotPayable(ConflictError):
    code = "order_not_payable"
    default_message = "This order is not awaiting payment."


class CardDeclined(ApplicationError):
    status_code = 402
    code = "card_declined"
    default_message = "Your card was declined."


class PaymentMethodRequired(ApplicationError):
    status_code = 400
    code = "payment_method_required"
    default_message = "Choose a payment method."


class PaymentFailed(ApplicationError):
    status_code = 402
    code = "payment_failed"
    default_message = "The payment did not go through."


class GatewayUnavailable(ApplicationError):
    status_code = 503
    code = "payment_gateway_unavailable"
    default_message = "The payment processor did not answer; nothing was charged twice. Try again shortly."


class UnknownPaymentIntent(NotFoundError):
    code = "unknown_payment_intent"
    default_message = "No payment of ours has this id."


class InvalidStripeSignature(ApplicationError):
    status_code = 400
    code = "invalid_stripe_signature"
    default_message = "The Stripe-Signature header does not verify."


class StripeNotConfigured(ApplicationError):
    status_code = 503
    code = "stripe_not_configured"
    default_message = "Stripe is not configured on this deployment."


class RefundExceedsPaid(UnprocessableError):
    code = "refund_exceeds_paid"
    default_message = "A refund cannot be more than what is left of the payment."


class RefundInvalid(ApplicationError):
    status_code = 400
    code = "refund_invalid"
    default_message = "Name lines of this order or a positive amount."


class NotRefundable(ConflictError):
    code = "not_refundable"
    default_message = "This order cannot be refunded in its current state."


class RefundWindowClosed(ForbiddenError):
    code = "refund_window_closed"
    default_message = "The refund period for this order has ended; contact support."


class RefundAfterCompletion(ForbiddenError):
    code = "refund_after_course_completion"
    default_message = "A course you have completed cannot be refunded."


class RefundForbidden(ForbiddenError):
    code = "refund_forbidden"
    default_message = "Only the buyer or a commerce admin can refund this order."


class GatewayRefundFailed(ApplicationError):
    status_code = 502
    code = "gateway_refund_failed"
    default_message = "The payment processor refused the refund; nothing was changed."


class UnknownOrderLine(UnprocessableError):
    code = "unknown_order_line"
    default_message = "The enrollment names a line that is not in that order."


class InvalidCountry(ApplicationError):
    status_code = 400
    code = "invalid_country"
    default_message = "An ISO 3166 country code, e.g. DE."


class InvalidPaymentMethod(ApplicationError):
    status_code = 400
    code = "invalid_payment_method"
    default_message = "The test gateway takes pm_card_visa, pm_card_chargeDeclined or pm_card_authenticationRequired."


class AuthenticationFailed(ApplicationError):
    status_code = 402
    code = "payment_authentication_failed"
    default_message = "The card's confirmation step (3-D Secure) did not succeed."


class PaymentInProgress(ConflictError):
    code = "payment_in_progress"
    default_message = "A payment for this order is already being processed; wait for it to finish."


class CartDuplicateItem(UnprocessableError):
    code = "cart_duplicate_item"
    default_message = "The cart holds the same course twice (on its own and in a bundle); remove one."
