"""Payouts: from the available balance, through the transfer adapter, recorded paid or failed.

A payout debits the payee's available account into "payouts in transit" under
the balance's row lock (so concurrent requests never overdraw it); the transfer
is sent after that commit; success moves the money to "payouts paid", failure
puts it back in available. Manual payouts wait for a commerce-admin to confirm
the bank transfer.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction

from integration.mail import send_templated_email
from integration.money import format_money, minor_unit, quantize
from payouts import adapters, remote
from payouts.errors import (
    InsufficientBalanceError,
    PayoutAccountMissingError,
    PayoutAmountInvalidError,
    PayoutHoldNotFoundError,
    PayoutNotFoundError,
    PayoutsOnHoldError,
    PayoutStateError,
    TaxInfoMissingError,
)
from payouts.models import (
    Account,
    LedgerPosting,
    Payout,
    PayoutAccount,
    PayoutBalance,
    PayoutHold,
    PayoutSchedule,
    TaxInfo,
)
from payouts.services.ledger import CREDIT, DEBIT, PostingDraft, balances_lock, postings_write

DEFAULT_SCHEDULE = PayoutSchedule(frequency=PayoutSchedule.Frequency.MONTHLY, day=1, minimum_amount=Decimal(50))


@dataclass(frozen=True)
class PayoutBlock:
    """Why a payee cannot be paid now (None when nothing stands in the way)."""

    code: str
    message: str


def payout_block(*, payee_user_id: str) -> PayoutBlock | None:
    if PayoutHold.objects.filter(payee_user_id=payee_user_id, released_at__isnull=True).exists():
        return PayoutBlock(PayoutsOnHoldError.code, "Payouts are on hold while our team reviews your account.")
    if not TaxInfo.objects.filter(payee_user_id=payee_user_id).exists():
        return PayoutBlock(TaxInfoMissingError.code,
                           "Add your tax information: your balance keeps growing, but nothing is paid out until then.")
    if not PayoutAccount.objects.filter(payee_user_id=payee_user_id).exists():
        return PayoutBlock(PayoutAccountMissingError.code, "Add a payout account so we know where to send the money.")
    return None


_BLOCK_ERRORS = {PayoutsOnHoldError.code: PayoutsOnHoldError, TaxInfoMissingError.code: TaxInfoMissingError,
                 PayoutAccountMissingError.code: PayoutAccountMissingError}


@transaction.atomic
def payout_create(*, payee_user_id: str, currency: str, now: datetime, amount: Decimal | None = None,
                  run_key: str = "") -> Payout:
    """Debits ``amount`` (default: all of it) from the available balance into a new payout.

    Raises ``payouts_on_hold``, ``tax_info_missing``, ``payout_account_missing`` (422),
    ``payout_amount_invalid`` or ``insufficient_balance`` (422); nothing is written then.
    The transfer is sent after commit by :func:`payout_send`.
    """
    block = payout_block(payee_user_id=payee_user_id)
    if block is not None:
        raise _BLOCK_ERRORS[block.code](details={"payeeUserId": payee_user_id})
    balance = balances_lock(keys=[(payee_user_id, currency)], now=now)[(payee_user_id, currency)]
    if amount is None:
        amount = balance.available
    if amount <= 0 or quantize(amount, currency) != amount:
        raise PayoutAmountInvalidError(details={"amount": str(amount), "minorUnit": str(minor_unit(currency))})
    if amount > balance.available:
        raise InsufficientBalanceError(details={"amount": str(amount), "available": str(balance.available),
                                                "currency": currency})
    account = PayoutAccount.objects.get(payee_user_id=payee_user_id)
    destination = account.stripe_account_id if account.method == PayoutAccount.Method.STRIPE_CONNECT \
        else f"bank ••{account.bank_last4}"
    payout = Payout.objects.create(id=uuid.uuid4(), payee_user_id=payee_user_id, currency=currency, amount=amount,
                                   status=Payout.Status.PROCESSING, method=account.method, destination=destination,
                                   run_key=run_key, created_at=now)
    draft = PostingDraft(key=f"payout:{payout.id}", kind=LedgerPosting.Kind.PAYOUT, currency=currency, occurred_at=now,
                         description=f"payout {payout.id}")
    draft.add(Account.PAYEE_AVAILABLE, DEBIT, amount, "payout", payee_user_id)
    draft.add(Account.PAYOUTS_IN_TRANSIT, CREDIT, amount, "payout")
    postings_write(drafts=[draft], balances={(payee_user_id, currency): balance}, now=now)
    return payout


def payout_send(*, payout_id: uuid.UUID | str, now: datetime) -> Payout:
    """Sends the transfer of a ``processing`` payout and records the answer. Outside any transaction:
    the adapter may call Stripe. Safe to repeat (Stripe's idempotency key is the payout id)."""
    payout = Payout.objects.filter(pk=payout_id).first()
    if payout is None:
        raise PayoutNotFoundError(details={"payoutId": str(payout_id)})
    if payout.status != Payout.Status.PROCESSING:
        return payout
    account = PayoutAccount.objects.filter(payee_user_id=payout.payee_user_id).first()
    result = adapters.transfer_send(adapters.TransferRequest(
        payout_id=str(payout.id), amount=payout.amount, currency=payout.currency, method=payout.method,
        stripe_account_id=account.stripe_account_id if account else ""))
    if result.outcome == adapters.SENT:
        return payout_mark_paid(payout_id=payout.id, transfer_id=result.transfer_id, now=now)
    if result.outcome == adapters.AWAITING_CONFIRMATION:
        Payout.objects.filter(pk=payout.id, status=Payout.Status.PROCESSING).update(
            status=Payout.Status.AWAITING_CONFIRMATION)
        payout.refresh_from_db()
        return payout
    return payout_mark_failed(payout_id=payout.id, reason=result.failure_reason, now=now)


def _locked(payout_id, allowed: set[str]) -> Payout:
    payout = Payout.objects.select_for_update().filter(pk=payout_id).first()
    if payout is None:
        raise PayoutNotFoundError(details={"payoutId": str(payout_id)})
    if payout.status not in allowed:
        raise PayoutStateError(details={"payoutId": str(payout_id), "status": payout.status})
    return payout


@transaction.atomic
def payout_mark_paid(*, payout_id, transfer_id: str, now: datetime) -> Payout:
    """The transfer went through (or an admin confirmed the manual bank transfer)."""
    payout = _locked(payout_id, {Payout.Status.PROCESSING, Payout.Status.AWAITING_CONFIRMATION})
    draft = PostingDraft(key=f"payout_paid:{payout.id}", kind=LedgerPosting.Kind.PAYOUT_PAID,
                         currency=payout.currency, occurred_at=now, description=f"payout {payout.id} paid")
    draft.add(Account.PAYOUTS_IN_TRANSIT, DEBIT, payout.amount, "payout_paid")
    draft.add(Account.PAYOUTS_PAID, CREDIT, payout.amount, "payout_paid")
    postings_write(drafts=[draft], balances={}, now=now)
    payout.status = Payout.Status.PAID
    payout.transfer_id = transfer_id
    payout.completed_at = now
    payout.save(update_fields=["status", "transfer_id", "completed_at"])
    _email(payout, "payouts/payout_sent")
    return payout


@transaction.atomic
def payout_mark_failed(*, payout_id, reason: str, now: datetime) -> Payout:
    """The transfer failed: the money goes back to the payee's available balance."""
    payout = _locked(payout_id, {Payout.Status.PROCESSING, Payout.Status.AWAITING_CONFIRMATION})
    key = (payout.payee_user_id, payout.currency)
    balances = balances_lock(keys=[key], now=now)
    draft = PostingDraft(key=f"payout_failed:{payout.id}", kind=LedgerPosting.Kind.PAYOUT_FAILED,
                         currency=payout.currency, occurred_at=now, description=f"payout {payout.id} failed")
    draft.add(Account.PAYOUTS_IN_TRANSIT, DEBIT, payout.amount, "payout_failed")
    draft.add(Account.PAYEE_AVAILABLE, CREDIT, payout.amount, "payout_returned", payout.payee_user_id)
    postings_write(drafts=[draft], balances=balances, now=now)
    payout.status = Payout.Status.FAILED
    payout.failure_reason = (reason or "The transfer was refused.")[:500]
    payout.completed_at = now
    payout.save(update_fields=["status", "failure_reason", "completed_at"])
    _email(payout, "payouts/payout_failed")
    return payout


def _email(payout: Payout, template: str) -> None:
    _payee_email(payout.payee_user_id, template, {
        "amount": format_money(payout.amount, payout.currency), "destination": payout.destination,
        "payout_id": str(payout.id), "failure_reason": payout.failure_reason, "method": payout.get_method_display()})


# --- Schedule and the periodic run ---------------------------------------------

def schedule_of(*, payee_user_id: str) -> PayoutSchedule:
    return PayoutSchedule.objects.filter(payee_user_id=payee_user_id).first() or DEFAULT_SCHEDULE


def next_payout_date(*, schedule: PayoutSchedule, today: date) -> date:
    """The next payout day on or after ``today``."""
    if schedule.frequency == PayoutSchedule.Frequency.WEEKLY:
        return today + timedelta(days=(schedule.day - today.weekday()) % 7)
    if today.day <= schedule.day:
        return today.replace(day=schedule.day)
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return date(year, month, schedule.day)


def payout_run(*, now: datetime, rows=None) -> dict[str, int]:
    """One payout per payee and currency whose payout day is today and whose available balance reaches
    their minimum. Safe to run many times a day: a payee is paid at most once per day (``run_key``).
    ``rows(iterable)`` wraps the balances looked at (``manage.py payouts_run``'s progress bar)."""
    today = now.date()
    run_key = f"run:{today.isoformat()}"
    counts = {"paid": 0, "failed": 0, "awaiting_confirmation": 0, "blocked": 0, "below_minimum": 0}
    platform_id = remote.platform_payee_id()
    candidates = (PayoutBalance.objects.filter(available__gt=0).exclude(payee_user_id=platform_id or "")
                  .order_by("payee_user_id", "currency").values_list("payee_user_id", "currency", "available"))
    schedules = {s.payee_user_id: s for s in PayoutSchedule.objects.all()}
    for payee_user_id, currency, available in (rows(candidates.iterator()) if rows else candidates.iterator()):
        schedule = schedules.get(payee_user_id, DEFAULT_SCHEDULE)
        if next_payout_date(schedule=schedule, today=today) != today:
            continue
        if available < schedule.minimum_amount:
            counts["below_minimum"] += 1
            continue
        if Payout.objects.filter(payee_user_id=payee_user_id, currency=currency, run_key=run_key).exists():
            continue
        block = payout_block(payee_user_id=payee_user_id)
        if block is not None:
            counts["blocked"] += 1
            if block.code == TaxInfoMissingError.code:
                _tax_info_reminder(payee_user_id=payee_user_id, available=available, currency=currency)
            continue
        try:
            payout = payout_create(payee_user_id=payee_user_id, currency=currency, now=now, run_key=run_key)
        except (InsufficientBalanceError, PayoutAmountInvalidError):
            continue  # a refund got there first; the next run tries again
        payout = payout_send(payout_id=payout.id, now=now)
        counts["paid" if payout.status == Payout.Status.PAID else payout.status] += 1
    return counts


def _tax_info_reminder(*, payee_user_id: str, available: Decimal, currency: str) -> None:
    """Sent on the payee's payout day only (so at most once a week or a month)."""
    _payee_email(payee_user_id, "payouts/tax_info_needed", {"amount": format_money(available, currency)})


# --- Holds ------------------------------------------------------------------------

@transaction.atomic
def payout_hold_place(*, payee_user_id: str, reason: str, actor: str, now: datetime) -> PayoutHold:
    """Stops a payee's payouts (idempotent: an active hold is kept, with its first reason)."""
    existing = PayoutHold.objects.select_for_update().filter(payee_user_id=payee_user_id,
                                                             released_at__isnull=True).first()
    if existing:
        return existing
    hold = PayoutHold.objects.create(payee_user_id=payee_user_id, reason=reason[:500] or "held by an admin",
                                     created_by=actor[:254], created_at=now)
    _payee_email(payee_user_id, "payouts/payouts_held")  # the reason is the team's note, not in the email
    return hold


@transaction.atomic
def payout_hold_release(*, payee_user_id: str, actor: str, now: datetime) -> PayoutHold:
    hold = PayoutHold.objects.select_for_update().filter(payee_user_id=payee_user_id,
                                                         released_at__isnull=True).first()
    if hold is None:
        raise PayoutHoldNotFoundError(details={"payeeUserId": payee_user_id})
    hold.released_at = now
    hold.released_by = actor[:254]
    hold.save(update_fields=["released_at", "released_by"])
    _payee_email(payee_user_id, "payouts/payouts_resumed")
    return hold


def _payee_email(payee_user_id: str, template: str, context: dict | None = None) -> None:
    """Sent after the commit; an erased or deactivated account (not found) is written to by nobody."""
    payee = remote.payee_get(user_id=payee_user_id)
    if payee is not None:
        send_templated_email(to=payee.email, template=template, context=context)
