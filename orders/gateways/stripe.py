"""The Stripe adapter: PaymentIntents (with 3-D Secure's extra step), fees from the balance transaction, refunds.

Every create carries an idempotency key per order and attempt, so a retried or doubled
request never charges twice. ``STRIPE_API_BASE`` points the SDK elsewhere (tests use
localstripe). Payment state is settled by Stripe's webhook events (``orders/services/stripe_events.py``);
the answers here are the first word, the events the last.
"""

from decimal import Decimal

import stripe
from django.conf import settings

from integration.money import minor_digits
from orders.errors import (
    GatewayRefundFailed,
    GatewayUnavailable,
    InvalidStripeSignature,
    PaymentFailed,
    StripeNotConfigured,
    UnknownPaymentIntent,
)
from orders.gateways.base import (
    CANCELED,
    FAILED,
    PROCESSING,
    REQUIRES_ACTION,
    SUCCEEDED,
    GatewayPayment,
    GatewayRefund,
    PaymentGateway,
)

EXPAND = ["latest_charge.balance_transaction"]


def to_minor(amount: Decimal, currency: str) -> int:
    return int((amount * (Decimal(10) ** minor_digits(currency))).to_integral_value())


def from_minor(amount: int, currency: str) -> Decimal:
    return Decimal(int(amount)).scaleb(-minor_digits(currency))


def stripe_client() -> stripe.StripeClient:
    if not settings.STRIPE_SECRET_KEY:
        raise StripeNotConfigured()
    base = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else {}
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses=base,
                               max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES)


def intent_answer(intent) -> GatewayPayment:
    """A PaymentIntent (SDK object or an event's plain dict) as the gateway's answer."""
    if hasattr(intent, "to_dict"):
        intent = intent.to_dict()
    get = intent.get
    status = get("status")
    charge = get("latest_charge")
    transaction_id, fee = "", Decimal("0")
    if isinstance(charge, dict):
        transaction_id = charge.get("id", "")
        balance = charge.get("balance_transaction")
        if isinstance(balance, dict):
            fee = from_minor(balance.get("fee") or 0, balance.get("currency") or get("currency"))
    elif isinstance(charge, str):
        transaction_id = charge
    if status == "succeeded":
        return GatewayPayment(intent_id=get("id"), status=SUCCEEDED, transaction_id=transaction_id, fee=fee)
    if status == "requires_action":
        return GatewayPayment(intent_id=get("id"), status=REQUIRES_ACTION, client_secret=get("client_secret") or "")
    if status in {"processing", "requires_confirmation", "requires_capture"}:
        return GatewayPayment(intent_id=get("id"), status=PROCESSING, client_secret=get("client_secret") or "")
    if status == "canceled":
        return GatewayPayment(intent_id=get("id"), status=CANCELED)
    error = get("last_payment_error") or {}
    return GatewayPayment(intent_id=get("id"), status=FAILED, failure_code=error.get("code") or "card_declined",
                          failure_message=error.get("message") or "Your card was declined.")


def _unavailable(exc: stripe.StripeError) -> bool:
    return isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError) or (exc.http_status or 500) >= 500


class StripeGateway(PaymentGateway):
    name = "stripe"
    label = "Stripe"

    def __init__(self) -> None:
        self.client = stripe_client()

    def charge(self, *, amount, currency, payment_method, idempotency_key, metadata):
        params = {"amount": to_minor(amount, currency), "currency": currency.lower(), "payment_method": payment_method,
                  "confirm": True, "payment_method_types": ["card"], "metadata": metadata, "expand": EXPAND}
        try:
            intent = self.client.v1.payment_intents.create(params=params, options={"idempotency_key": idempotency_key})
        except stripe.CardError as exc:
            intent = (exc.json_body or {}).get("error", {}).get("payment_intent") or {}
            return GatewayPayment(intent_id=intent.get("id", "") if isinstance(intent, dict) else "", status=FAILED,
                                  failure_code=exc.code or "card_declined",
                                  failure_message=exc.user_message or "Your card was declined.")
        except stripe.StripeError as exc:
            if _unavailable(exc):
                raise GatewayUnavailable(details={"processor": "stripe"}) from None
            raise PaymentFailed(exc.user_message or None, details={"processorCode": exc.code or ""}) from None
        return intent_answer(intent)

    def retrieve(self, *, intent_id):
        try:
            intent = self.client.v1.payment_intents.retrieve(intent_id, params={"expand": EXPAND})
        except stripe.InvalidRequestError:
            raise UnknownPaymentIntent(details={"paymentIntentId": intent_id}) from None
        except stripe.StripeError:
            raise GatewayUnavailable(details={"processor": "stripe"}) from None
        return intent_answer(intent)

    def refund(self, *, intent_id, amount, currency, idempotency_key):
        params = {"payment_intent": intent_id, "amount": to_minor(amount, currency)}
        try:
            refund = self.client.v1.refunds.create(params=params, options={"idempotency_key": idempotency_key})
        except stripe.InvalidRequestError as exc:
            if exc.code == "charge_already_refunded":
                return GatewayRefund(refund_id="", already_refunded=True)
            raise GatewayRefundFailed(details={"processorCode": exc.code or "", "message": exc.user_message or ""}) \
                from None
        except stripe.StripeError:
            raise GatewayUnavailable(details={"processor": "stripe"}) from None
        return GatewayRefund(refund_id=refund.id)

    def charge_refunds(self, *, charge_id: str) -> list[dict]:
        """The charge's refunds as Stripe lists them (``charge.refunded`` events no longer carry them)."""
        try:
            page = self.client.v1.refunds.list(params={"charge": charge_id, "limit": 100})
        except stripe.StripeError:
            raise GatewayUnavailable(details={"processor": "stripe"}) from None
        return [refund.to_dict() for refund in page.data]

    def client_config(self):
        return {"publishableKey": settings.STRIPE_PUBLISHABLE_KEY, "jsUrl": settings.STRIPE_JS_URL}


def stripe_event_verify(*, payload: bytes, signature: str):
    """The event, if ``Stripe-Signature`` verifies with STRIPE_WEBHOOK_SECRET (the SDK's own check)."""
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise StripeNotConfigured()
    try:
        return stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
    except (stripe.SignatureVerificationError, ValueError):
        raise InvalidStripeSignature() from None
