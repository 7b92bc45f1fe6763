"""The built-in test gateway: Stripe's test payment methods, kept in our own database, no network.

``pm_card_visa`` succeeds, ``pm_card_chargeDeclined`` is declined, ``pm_card_authenticationRequired``
needs a confirmation step (the buyer's "3-D Secure" page, :meth:`TestGateway.authenticate`).
The fee is Stripe's US card price, 2.9 % + 0.30.
"""

import secrets
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from integration.db import insert_ignore
from integration.money import quantize
from orders.errors import InvalidPaymentMethod, UnknownPaymentIntent
from orders.gateways.base import (
    FAILED,
    REQUIRES_ACTION,
    SUCCEEDED,
    GatewayPayment,
    GatewayRefund,
    PaymentGateway,
)
from orders.models import TestGatewayIntent

SUCCEEDING = frozenset({"pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_visa_debit"})
DECLINED = frozenset({"pm_card_chargeDeclined", "pm_card_visa_chargeDeclined", "pm_card_chargeDeclinedInsufficientFunds"})
NEEDS_ACTION = frozenset({"pm_card_authenticationRequired", "pm_card_threeDSecure2Required",
                          "pm_card_authenticationRequiredOnSetup"})
FEE_RATE = Decimal("0.029")
FEE_FIXED = Decimal("0.30")
INTENT_FIELDS = ("intent_id", "idempotency_key", "payment_method", "amount", "currency", "status",
                 "client_secret", "refunded", "created_at")


def test_fee(amount: Decimal, currency: str) -> Decimal:
    return quantize(amount * FEE_RATE + FEE_FIXED, currency)


class TestGateway(PaymentGateway):
    name = "test"
    label = "Test gateway (no card is charged)"

    def charge(self, *, amount, currency, payment_method, idempotency_key, metadata):
        if payment_method in SUCCEEDING:
            status = SUCCEEDED
        elif payment_method in DECLINED:
            status = FAILED
        elif payment_method in NEEDS_ACTION:
            status = REQUIRES_ACTION
        else:
            raise InvalidPaymentMethod(details={"paymentMethod": payment_method[:64]})
        # The first charge under a key is one INSERT (its own transaction: no BEGIN and COMMIT of ours
        # around it, no savepoint); a repeated key writes nothing and answers what the first charge did
        # (as Stripe does). Two charges at once under one key: the second waits for the first's commit.
        intent_id = "tpi_" + secrets.token_hex(12)
        intent = TestGatewayIntent(
            intent_id=intent_id, idempotency_key=idempotency_key, payment_method=payment_method, amount=amount,
            currency=currency, status=status, client_secret=f"{intent_id}_secret_{secrets.token_hex(12)}",
            refunded=Decimal("0"), created_at=timezone.now())
        written = insert_ignore(TestGatewayIntent, [{name: getattr(intent, name) for name in INTENT_FIELDS}],
                                conflict=["idempotency_key"])
        if not written:  # the key was charged before (or at the same moment): the first one's answer
            intent = TestGatewayIntent.objects.get(idempotency_key=idempotency_key)
        return self._answer(intent)

    def retrieve(self, *, intent_id):
        intent = TestGatewayIntent.objects.filter(intent_id=intent_id).first()
        if intent is None:
            raise UnknownPaymentIntent(details={"paymentIntentId": intent_id})
        return self._answer(intent)

    def authenticate(self, *, intent_id: str, client_secret: str, success: bool) -> GatewayPayment:
        """The buyer's confirmation step: passes (the charge goes through) or fails."""
        # Only an intent still waiting moves, and only once: a repeated confirmation answers the first outcome.
        TestGatewayIntent.objects.filter(intent_id=intent_id, status=REQUIRES_ACTION).update(
            status=SUCCEEDED if success else FAILED)
        intent = TestGatewayIntent.objects.filter(intent_id=intent_id).first()
        if intent is None:
            raise UnknownPaymentIntent(details={"paymentIntentId": intent_id})
        return self._answer(intent)

    def refund(self, *, intent_id, amount, currency, idempotency_key):
        with transaction.atomic():
            intent = TestGatewayIntent.objects.select_for_update().filter(intent_id=intent_id).first()
            if intent is None:
                raise UnknownPaymentIntent(details={"paymentIntentId": intent_id})
            if intent.refunded >= intent.amount:
                return GatewayRefund(refund_id="", already_refunded=True)
            intent.refunded = min(intent.amount, intent.refunded + amount)
            intent.save(update_fields=["refunded"])
        return GatewayRefund(refund_id="tre_" + secrets.token_hex(12))

    @staticmethod
    def _answer(intent: TestGatewayIntent) -> GatewayPayment:
        if intent.status == SUCCEEDED:
            return GatewayPayment(intent_id=intent.intent_id, status=SUCCEEDED,
                                  transaction_id="tch_" + intent.intent_id.removeprefix("tpi_"),
                                  fee=test_fee(intent.amount, intent.currency))
        if intent.status == REQUIRES_ACTION:
            return GatewayPayment(intent_id=intent.intent_id, status=REQUIRES_ACTION,
                                  client_secret=intent.client_secret)
        declined = intent.payment_method in DECLINED
        return GatewayPayment(intent_id=intent.intent_id, status=FAILED,
                              failure_code="card_declined" if declined else "payment_authentication_failed",
                              failure_message="Your card was declined." if declined
                              else "The confirmation step (3-D Secure) failed.")
