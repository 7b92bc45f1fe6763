"""An erased payee: bank details, tax information and schedule gone; ledger and balances intact, same id."""

import json
import re
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection

from identity.services.accounts import user_erase
from integration.models import OutboxMessage
from integration.ports.payouts import payouts_port
from integration.topics import Topic
from payouts.models import Payout, PayoutAccount, PayoutHold, PayoutSchedule, RevenueLedgerEntry, TaxInfo
from payouts.selectors import balance_get, ledger_reconcile
from payouts.services.clearing import pending_amounts_clear
from payouts.services.erasure import ERASED_HOLD_REASON, payee_personal_data_erase
from payouts.services.payouts import payout_create, payout_run, payout_send
from payouts.services.settings import payout_account_set, payout_schedule_set, tax_info_set
from tests.payouts.conftest import NOW, later, post, refund_of, sale

pytestmark = pytest.mark.django_db(transaction=True)
RUN_DAY = later(31).replace(day=1)
ACCOUNT_NUMBER = "DE89 3704 0044 0532 0130 00"
TAX_ID = "DE123456789"


def _ledger_rows(payee: str) -> list[tuple]:
    return list(RevenueLedgerEntry.objects.filter(payee_user_id=payee).order_by("id")
                .values_list("id", "posting_id", "type", "amount", "account", "reason"))


@pytest.fixture
def paid_payee(instructor, platform):
    """A payee with a bank account, tax information, a schedule, one paid and one waiting manual payout."""
    event = sale(splits=[(platform, "20.00", "platform_fee"), (instructor, "180.00", "instructor_share")])
    post(event)
    pending_amounts_clear(now=later(31))
    payout_account_set(payee_user_id=instructor, method="manual", account_holder="Ada Teacher",
                       account_number=ACCOUNT_NUMBER, routing_code="COBADEFFXXX", bank_name="Commerzbank", now=NOW)
    tax_info_set(payee_user_id=instructor, legal_name="Ada Lovelace Teacher", country="DE", tax_id=TAX_ID,
                 form="w8ben", now=NOW)
    payout_schedule_set(payee_user_id=instructor, frequency="weekly", day=2, minimum_amount=Decimal("10"), now=NOW)
    for amount in ("50.00", "30.00"):
        payout = payout_create(payee_user_id=instructor, currency="USD", amount=Decimal(amount), now=RUN_DAY)
        payout_send(payout_id=payout.id, now=RUN_DAY)
    first = Payout.objects.get(amount=Decimal("50.00"))
    from payouts.services.payouts import payout_mark_paid

    payout_mark_paid(payout_id=first.id, transfer_id="manual-1", now=RUN_DAY)
    return event


def test_erasing_the_account_erases_the_payees_bank_and_tax_details_and_keeps_the_ledger(paid_payee, instructor):
    before = _ledger_rows(instructor)
    assert balance_get(payee_user_id=instructor, currency="USD").available == Decimal("100.00")
    mail.outbox.clear()

    user_erase(user_id=instructor, actor="system:tests")  # commits; the outbox delivers after commit

    message = OutboxMessage.objects.get(topic=Topic.USER_ERASED)
    assert message.status == OutboxMessage.Status.DELIVERED
    assert not PayoutAccount.objects.filter(payee_user_id=instructor).exists()
    assert not TaxInfo.objects.filter(payee_user_id=instructor).exists()
    assert not PayoutSchedule.objects.filter(payee_user_id=instructor).exists()
    assert set(Payout.objects.filter(payee_user_id=instructor).values_list("destination", flat=True)) == {""}
    # The manual payout an admin had not paid yet cannot be paid any more: failed, its money back in available.
    waiting = Payout.objects.get(payee_user_id=instructor, amount=Decimal("30.00"))
    assert waiting.status == Payout.Status.FAILED and "erased" in waiting.failure_reason
    assert mail.outbox == []  # nobody writes to an erased account

    # The ledger is append-only: every earlier leg is still there, unchanged, under the same id.
    after = _ledger_rows(instructor)
    assert after[:len(before)] == before
    assert [row[5] for row in after[len(before):]] == ["payout_returned"]
    balance = balance_get(payee_user_id=instructor, currency="USD")
    assert (balance.available, balance.pending) == (Decimal("130.00"), Decimal("0"))
    assert ledger_reconcile().ok

    # The data download: earnings and payouts stay, the account and the tax details are gone.
    data = payouts_port().personal_data(user_id=instructor)
    assert data.payout_account is None and data.tax_info is None
    assert len(data.ledger) == len(after) and {p["destination"] for p in data.payouts} == {""}
    # Ids (random hex, or row numbers that grow over a test run) are taken out first, so a digit run of
    # the account or tax id is looked for in the rest.
    dumped = re.sub(r'"(\w*(?:id|Id))": "?\d+"?', r'"\1": "<id>"', json.dumps(data.to_wire()))
    dumped = re.sub(r'"((?:event|originalEvent|order|posting|product|transfer)Id)": "[^"]*"', r'"\1": "<id>"', dumped)
    dumped = re.sub(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", "<id>", dumped)
    for secret in ("Ada", "3000", "4567", "COBADEFF", "Commerzbank", TAX_ID):
        assert secret not in dumped
    # Nor is any of it left in the payouts tables in any form (encrypted tokens included).
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM payouts_payoutaccount UNION ALL SELECT COUNT(*) FROM payouts_taxinfo")
        assert [row[0] for row in cursor.fetchall()] == [0, 0]

    # No payout run tries to pay (or email) the erased account: its payouts are on hold.
    assert PayoutHold.objects.get(payee_user_id=instructor, released_at__isnull=True).reason == ERASED_HOLD_REASON
    assert payout_run(now=RUN_DAY)["blocked"] == 1
    assert mail.outbox == []


def test_a_refund_after_the_payee_was_erased_still_takes_their_share_back(paid_payee, instructor, platform):
    user_erase(user_id=instructor, actor="system:tests")
    refund = refund_of(paid_payee, splits=[(platform, "20.00", "platform_fee"), (instructor, "180.00",
                                                                                 "instructor_share")])
    assert [r.status for r in post(refund, now=later(40))] == ["processed"]
    assert balance_get(payee_user_id=instructor, currency="USD").available == Decimal("-50.00")
    assert ledger_reconcile().ok
    # A new sale naming the erased account is refused (the LMS no longer sends one: its share goes to the platform).
    new = sale(splits=[(platform, "1.00", "platform_fee"), (instructor, "9.00", "instructor_share")])
    assert [(r.status, r.error) for r in post(new, now=later(41))] == [("failed", "unknown_payee")]


def test_erasing_again_changes_nothing(paid_payee, instructor):
    first = payee_personal_data_erase(payee_user_id=instructor, now=later(40))
    rows = _ledger_rows(instructor)
    second = payee_personal_data_erase(payee_user_id=instructor, now=later(41))
    assert (first.payout_accounts, first.tax_info, first.schedules, first.payouts_failed) == (1, 1, 1, 1)
    assert (second.payout_accounts, second.tax_info, second.schedules, second.payouts_failed) == (0, 0, 0, 0)
    assert _ledger_rows(instructor) == rows
    assert PayoutHold.objects.filter(payee_user_id=instructor).count() == 1


def test_someone_who_never_earned_is_not_put_on_hold(db):
    erasure = payee_personal_data_erase(payee_user_id="00000000-0000-0000-0000-000000000001", now=NOW)
    assert not erasure.held and not PayoutHold.objects.exists()
