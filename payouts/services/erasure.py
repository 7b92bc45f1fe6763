"""A payee's personal data, erased with their account (``identity.user_erased``).

What goes: the payout account (Stripe Connect id, encrypted bank details and their last four digits),
the tax information (legal name, country, encrypted tax id), the payout schedule, and the destination
written on each payout. What stays, under the same anonymous user id: the ledger (append-only: its legs
name no person), the balances, the pending amounts and the payouts' amounts and states, so the books
still balance and reconcile. A manual payout still waiting for an admin's bank transfer cannot be paid
without the bank details: it fails and its money goes back to available. The payee's payouts are put on
hold, so no run tries to pay (or email) the erased account. Running it again changes nothing.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from payouts.models import Payout, PayoutAccount, PayoutBalance, PayoutSchedule, TaxInfo
from payouts.services import events
from payouts.services.payouts import payout_hold_place, payout_mark_failed

ERASED_HOLD_REASON = "The payee's account was erased: nothing is paid out."
ERASURE_ACTOR = "account erasure"
ERASED_PAYOUT_REASON = "The payee's account was erased before the bank transfer was confirmed."


@dataclass(frozen=True)
class PayeeErasure:
    payout_accounts: int
    tax_info: int
    schedules: int
    payouts_failed: int
    payouts_anonymised: int
    held: bool


@transaction.atomic
def payee_personal_data_erase(*, payee_user_id: str, now: datetime) -> PayeeErasure:
    payee_user_id = str(payee_user_id)
    waiting = list(Payout.objects.filter(payee_user_id=payee_user_id, status=Payout.Status.AWAITING_CONFIRMATION)
                   .order_by("created_at").values_list("pk", flat=True))
    for payout_id in waiting:
        payout_mark_failed(payout_id=payout_id, reason=ERASED_PAYOUT_REASON, now=now)
    accounts, _ = PayoutAccount.objects.filter(payee_user_id=payee_user_id).delete()
    tax_info, _ = TaxInfo.objects.filter(payee_user_id=payee_user_id).delete()
    schedules, _ = PayoutSchedule.objects.filter(payee_user_id=payee_user_id).delete()
    anonymised = Payout.objects.filter(payee_user_id=payee_user_id).exclude(destination="").update(destination="")
    held = PayoutBalance.objects.filter(payee_user_id=payee_user_id).exists()
    if held:
        payout_hold_place(payee_user_id=payee_user_id, reason=ERASED_HOLD_REASON, actor=ERASURE_ACTOR, now=now)
    events.known_payee_forget(payee_user_id)
    return PayeeErasure(payout_accounts=accounts, tax_info=tax_info, schedules=schedules,
                        payouts_failed=len(waiting), payouts_anonymised=anonymised, held=held)
