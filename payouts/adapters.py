"""Payout transfer adapters: Stripe Connect transfers, the built-in test transfer, and manual bank payouts.

Each answers a :class:`TransferResult`; none touches the database (the payout
services record the answer). Stripe is called with the payout's id as the
idempotency key, so a retry never pays twice.
"""

from dataclasses import dataclass
from decimal import Decimal

import stripe
from django.conf import settings

from integration.money import minor_digits

SENT = "sent"  # the money is on its way (Stripe transfer created)
FAILED = "failed"
AWAITING_CONFIRMATION = "awaiting_confirmation"  # manual: an admin pays and confirms


@dataclass(frozen=True)
class TransferResult:
    outcome: str
    transfer_id: str = ""
    failure_reason: str = ""


@dataclass(frozen=True)
class TransferRequest:
    payout_id: str
    amount: Decimal
    currency: str
    method: str
    stripe_account_id: str = ""


def minor_units(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(minor_digits(currency)).to_integral_exact())


class StripeConnectAdapter:
    name = "stripe"

    def send(self, request: TransferRequest) -> TransferResult:
        base = {"api": settings.PAYOUT_STRIPE_API_BASE} if settings.PAYOUT_STRIPE_API_BASE else None
        client = stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses=base or {}, max_network_retries=2)
        try:
            transfer = client.v1.transfers.create(
                params={"amount": minor_units(request.amount, request.currency),
                        "currency": request.currency.lower(), "destination": request.stripe_account_id,
                        "metadata": {"payout_id": request.payout_id}},
                options={"idempotency_key": f"payout-{request.payout_id}"})
        except stripe.StripeError as error:
            message = getattr(error, "user_message", None) or str(error) or type(error).__name__
            return TransferResult(outcome=FAILED, failure_reason=message[:500])
        return TransferResult(outcome=SENT, transfer_id=transfer.id)


class TestTransferAdapter:
    """The embedded default without a Stripe key: the transfer succeeds at once (labelled "test" in the UI)."""

    name = "test"

    def send(self, request: TransferRequest) -> TransferResult:
        return TransferResult(outcome=SENT, transfer_id=f"tr_test_{request.payout_id.replace('-', '')[:24]}")


def transfer_send(request: TransferRequest) -> TransferResult:
    if request.method == "manual":
        return TransferResult(outcome=AWAITING_CONFIRMATION)
    adapter = StripeConnectAdapter() if settings.PAYOUT_TRANSFER_ADAPTER == "stripe" else TestTransferAdapter()
    return adapter.send(request)
