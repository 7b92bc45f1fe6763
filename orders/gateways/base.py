"""The one payment gateway interface; adapters: Stripe (``stripe.py``) and the built-in test gateway (``test.py``)."""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal

SUCCEEDED = "succeeded"
REQUIRES_ACTION = "requires_action"
FAILED = "failed"
PROCESSING = "processing"
CANCELED = "canceled"


@dataclass(frozen=True)
class GatewayPayment:
    intent_id: str
    status: str  # one of the constants above
    client_secret: str = ""
    transaction_id: str = ""
    fee: Decimal = Decimal("0")
    failure_code: str = ""
    failure_message: str = ""


@dataclass(frozen=True)
class GatewayRefund:
    refund_id: str
    already_refunded: bool = False


class PaymentGateway(ABC):
    name: str = ""
    label: str = ""

    @abstractmethod
    def charge(self, *, amount: Decimal, currency: str, payment_method: str, idempotency_key: str,
               metadata: dict[str, str]) -> GatewayPayment:
        """Creates and confirms a payment; answers succeeded, failed or requires_action (+ client secret)."""

    @abstractmethod
    def retrieve(self, *, intent_id: str) -> GatewayPayment:
        """The payment as the processor sees it now (after a confirmation step, say)."""

    @abstractmethod
    def refund(self, *, intent_id: str, amount: Decimal, currency: str, idempotency_key: str) -> GatewayRefund:
        """Gives ``amount`` back; a charge already refunded is a success (``already_refunded``)."""

    def client_config(self) -> dict[str, str]:
        """What the checkout page needs (a publishable key, say)."""
        return {}
