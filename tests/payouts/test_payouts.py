"""Payout accounts, tax information, schedules, holds and the payout run, end to end through Stripe Connect."""

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail

from payouts import crypto
from payouts.errors import (
    InsufficientBalanceError,
    PayoutAccountInvalidError,
    PayoutsOnHoldError,
    TaxInfoMissingError,
)
from payouts.models import Payout, PayoutAccount, PayoutSchedule, TaxInfo
from payouts.selectors import balance_get, ledger_reconcile
from payouts.services.clearing import pending_amounts_clear
from payouts.services.payouts import (
    next_payout_date,
    payout_create,
    payout_hold_place,
    payout_hold_release,
    payout_mark_paid,
    payout_run,
    payout_send,
)
from payouts.services.settings import (
    payout_account_set,
    payout_schedule_set,
    payout_secrets_rotate,
    tax_info_set,
)
from tests.payouts.conftest import NOW, later, post, refund_of, sale
from tests.payouts.stripe_standin import StripeTransfers

pytestmark = pytest.mark.django_db(transaction=True)
RUN_DAY = later(31).replace(day=1)  # a payout day of the default monthly schedule after the clearing period


@pytest.fixture
def stripe_transfers(settings):
    standin = StripeTransfers().start()
    settings.PAYOUT_TRANSFER_ADAPTER = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_payouts"
    settings.PAYOUT_STRIPE_API_BASE = standin.url
    yield standin
    standin.stop()


@pytest.fixture
def earned(instructor, platform):
    """100.00 available for the instructor."""
    event = sale(splits=[(platform, "10.00", "platform_fee"), (instructor, "100.00", "instructor_share")])
    post(event)
    pending_amounts_clear(now=later(31))
    return event


def ready(payee, account="acct_1TestPayee"):
    payout_account_set(payee_user_id=payee, method="stripe_connect", stripe_account_id=account, now=NOW)
    tax_info_set(payee_user_id=payee, legal_name="Ada Teacher", country="US", tax_id="123-45-6789", form="w9", now=NOW)


def test_bank_details_and_tax_ids_are_encrypted_at_rest_and_rotate(instructor, settings):
    settings.PAYOUT_ENCRYPTION_KEYS = ["first-secret"]
    account = payout_account_set(payee_user_id=instructor, method="manual", account_holder="Ada Teacher",
                                 account_number="DE89 3704 0044 0532 0130 00", now=NOW)
    info = tax_info_set(payee_user_id=instructor, legal_name="Ada", country="DE", tax_id="DE123456789",
                        form="w8ben", now=NOW)
    assert "3704" not in account.bank_details_encrypted and "123456789" not in info.tax_id_encrypted
    assert account.bank_last4 == "3000"
    settings.PAYOUT_ENCRYPTION_KEYS = ["second-secret", "first-secret"]
    assert payout_secrets_rotate() == 2
    settings.PAYOUT_ENCRYPTION_KEYS = ["second-secret"]
    stored = PayoutAccount.objects.get(pk=account.pk)
    assert crypto.decrypt_json(stored.bank_details_encrypted)["accountNumber"] == "DE89370400440532013000"
    assert crypto.decrypt_text(TaxInfo.objects.get(pk=info.pk).tax_id_encrypted) == "DE123456789"


def test_a_malformed_payout_account_is_refused(instructor):
    with pytest.raises(PayoutAccountInvalidError):
        payout_account_set(payee_user_id=instructor, method="stripe_connect", stripe_account_id="nope", now=NOW)
    with pytest.raises(PayoutAccountInvalidError):
        payout_account_set(payee_user_id=instructor, method="manual", account_holder="", account_number="1",
                           now=NOW)
    assert not PayoutAccount.objects.exists()


def test_no_payout_without_tax_information_and_the_payee_is_told(earned, instructor):
    payout_account_set(payee_user_id=instructor, method="stripe_connect", stripe_account_id="acct_1TestPayee",
                       now=NOW)
    with pytest.raises(TaxInfoMissingError):
        payout_create(payee_user_id=instructor, currency="USD", now=RUN_DAY)
    mail.outbox.clear()
    assert payout_run(now=RUN_DAY)["blocked"] == 1
    assert [m.to for m in mail.outbox] == [["teacher@example.com"]]
    assert "tax" in mail.outbox[0].subject.lower()
    assert balance_get(payee_user_id=instructor, currency="USD").available == Decimal("100.00")


def test_a_payout_above_the_available_balance_is_refused(earned, instructor):
    ready(instructor)
    with pytest.raises(InsufficientBalanceError):
        payout_create(payee_user_id=instructor, currency="USD", amount=Decimal("100.01"), now=RUN_DAY)
    assert not Payout.objects.exists()


def test_the_payout_run_pays_through_stripe_connect(earned, instructor, stripe_transfers):
    ready(instructor)
    mail.outbox.clear()
    counts = payout_run(now=RUN_DAY)
    assert counts["paid"] == 1
    payout = Payout.objects.get(payee_user_id=instructor)
    assert (payout.status, payout.amount, payout.transfer_id[:3]) == ("paid", Decimal("100.00"), "tr_")
    [request] = stripe_transfers.requests
    assert request["form"] == {"amount": "10000", "currency": "usd", "destination": "acct_1TestPayee",
                               "metadata[payout_id]": str(payout.id)}
    assert request["idempotency_key"] == f"payout-{payout.id}"
    assert balance_get(payee_user_id=instructor, currency="USD").available == 0
    assert any("on its way" in m.subject for m in mail.outbox)
    assert payout_run(now=RUN_DAY)["paid"] == 0  # once per payout day
    assert ledger_reconcile().ok


def test_a_failed_transfer_returns_the_money_to_available(earned, instructor, stripe_transfers):
    ready(instructor, account="acct_failing01")
    mail.outbox.clear()
    assert payout_run(now=RUN_DAY)["failed"] == 1
    payout = Payout.objects.get(payee_user_id=instructor)
    assert payout.status == "failed" and "No such destination" in payout.failure_reason
    assert balance_get(payee_user_id=instructor, currency="USD").available == Decimal("100.00")
    assert any("failed" in m.subject.lower() for m in mail.outbox)
    assert ledger_reconcile().ok


def test_a_manual_payout_waits_for_an_admin_to_confirm(earned, instructor):
    payout_account_set(payee_user_id=instructor, method="manual", account_holder="Ada Teacher",
                       account_number="12345678", now=NOW)
    tax_info_set(payee_user_id=instructor, legal_name="Ada", country="US", tax_id="123", form="w9", now=NOW)
    payout = payout_send(payout_id=payout_create(payee_user_id=instructor, currency="USD", now=RUN_DAY).id,
                         now=RUN_DAY)
    assert payout.status == "awaiting_confirmation" and payout.destination == "bank ••5678"
    payout = payout_mark_paid(payout_id=payout.id, transfer_id="bank ref 42", now=RUN_DAY)
    assert payout.status == "paid"
    assert ledger_reconcile().ok


def test_a_hold_stops_payouts_until_it_is_lifted(earned, instructor):
    ready(instructor)
    payout_hold_place(payee_user_id=instructor, reason="chargeback review", actor="admin@example.com", now=NOW)
    with pytest.raises(PayoutsOnHoldError):
        payout_create(payee_user_id=instructor, currency="USD", now=RUN_DAY)
    assert payout_run(now=RUN_DAY)["blocked"] == 1
    payout_hold_release(payee_user_id=instructor, actor="admin@example.com", now=NOW)
    assert payout_run(now=RUN_DAY)["paid"] == 1


def test_the_schedule_decides_the_day_and_the_minimum(earned, instructor):
    ready(instructor)
    payout_schedule_set(payee_user_id=instructor, frequency="weekly", day=RUN_DAY.weekday(),
                        minimum_amount=Decimal("150"), now=NOW)
    assert payout_run(now=RUN_DAY)["below_minimum"] == 1
    payout_schedule_set(payee_user_id=instructor, frequency="weekly", day=(RUN_DAY.weekday() + 1) % 7,
                        minimum_amount=Decimal("10"), now=NOW)
    assert payout_run(now=RUN_DAY)["paid"] == 0


def test_next_payout_date():
    monthly = PayoutSchedule(frequency="monthly", day=15)
    assert next_payout_date(schedule=monthly, today=date(2026, 3, 10)) == date(2026, 3, 15)
    assert next_payout_date(schedule=monthly, today=date(2026, 12, 16)) == date(2027, 1, 15)
    weekly = PayoutSchedule(frequency="weekly", day=0)
    assert next_payout_date(schedule=weekly, today=date(2026, 3, 11)) == date(2026, 3, 16)


def test_a_refund_after_a_payout_drives_the_balance_negative_and_next_earnings_net_it(earned, instructor,
                                                                                      platform):
    ready(instructor)
    payout_run(now=RUN_DAY)
    post(refund_of(earned, splits=[(instructor, "40.00", "instructor_share")]), now=RUN_DAY)
    assert balance_get(payee_user_id=instructor, currency="USD").available == Decimal("-40.00")
    with pytest.raises(Exception, match="payout amount"):
        payout_create(payee_user_id=instructor, currency="USD", now=RUN_DAY)
    post(sale(splits=[(platform, "5.00", "platform_fee"), (instructor, "70.00", "instructor_share")],
              occurred_at=RUN_DAY), now=RUN_DAY)
    pending_amounts_clear(now=later(100))
    assert balance_get(payee_user_id=instructor, currency="USD").available == Decimal("30.00")
    assert ledger_reconcile().ok
