"""Held shares released or forfeited; pending amounts become available on their date; refunds net later."""

from datetime import timedelta
from decimal import Decimal

import pytest

from payouts.errors import SaleNotPostedError
from payouts.models import PendingAmount
from payouts.selectors import balance_get, ledger_reconcile, pending_schedule
from payouts.services.clearing import pending_amounts_clear
from tests.payouts.conftest import NOW, later, post, refund_of, release, sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def held_sale(instructor, creator, platform):
    event = sale(splits=[(platform, "30.00", "platform_fee"), (creator, "40.00", "creator_share", True),
                         (instructor, "30.00", "instructor_share", True)])
    post(event)
    return event


def test_held_shares_wait_without_a_date(held_sale, instructor, platform):
    balance = balance_get(payee_user_id=instructor, currency="USD")
    assert (balance.held, balance.pending, balance.available) == (Decimal("30.00"), Decimal("30.00"), 0)
    assert pending_schedule(payee_user_id=instructor, currency="USD") == [
        {"date": None, "amount": Decimal("30.00"), "count": 1, "held": True}]
    assert pending_amounts_clear(now=later(400)) == 1  # only the platform's share clears
    assert balance_get(payee_user_id=instructor, currency="USD").held == Decimal("30.00")


def test_a_release_moves_the_share_to_pending_with_the_clearing_date(held_sale, instructor, settings):
    settings.PAYOUT_CLEARING_DAYS = 30
    [result] = release((held_sale["eventId"], instructor, "release"), now=later(10))
    assert result.status == "released"
    lot = PendingAmount.objects.get(payee_user_id=instructor)
    assert lot.available_on == NOW + timedelta(days=30)  # 30 days after the sale, already 10 gone
    [late] = release((held_sale["eventId"], instructor, "release"), now=later(60))
    assert late.status == "duplicate"
    balance = balance_get(payee_user_id=instructor, currency="USD")
    assert (balance.held, balance.pending) == (0, Decimal("30.00"))
    pending_amounts_clear(now=later(30))
    assert balance_get(payee_user_id=instructor, currency="USD").available == Decimal("30.00")
    assert ledger_reconcile().ok


def test_a_release_after_the_clearing_period_waits_no_longer(held_sale, creator):
    release((held_sale["eventId"], creator, "release"), now=later(45))
    assert PendingAmount.objects.get(payee_user_id=creator).available_on == later(45)


def test_a_forfeited_share_goes_to_the_platform(held_sale, creator, platform):
    [result] = release((held_sale["eventId"], creator, "forfeit"), now=later(90))
    assert result.status == "forfeited"
    assert balance_get(payee_user_id=creator, currency="USD").pending == 0
    assert balance_get(payee_user_id=platform, currency="USD").pending == Decimal("70.00")
    assert release((held_sale["eventId"], creator, "release"))[0].status == "duplicate"
    assert ledger_reconcile().ok


def test_a_refund_of_a_forfeited_share_is_taken_back_from_the_platform(held_sale, creator, platform):
    release((held_sale["eventId"], creator, "forfeit"), now=later(5))
    post(refund_of(held_sale, splits=[(creator, "40.00", "creator_share")]), now=later(6))
    assert balance_get(payee_user_id=creator, currency="USD").pending == 0
    assert balance_get(payee_user_id=platform, currency="USD").pending == Decimal("30.00")
    assert ledger_reconcile().ok


def test_releasing_a_share_that_was_not_held_fails(held_sale, platform):
    [result] = release((held_sale["eventId"], platform, "release"))
    assert (result.status, result.error) == ("failed", "split_not_held")


def test_a_release_for_an_unknown_payee_of_the_sale_fails(held_sale, db):
    [result] = release((held_sale["eventId"], "somebody-else", "release"))
    assert (result.status, result.error) == ("failed", "no_split_for_payee")


def test_a_release_before_its_sale_is_retried(instructor):
    with pytest.raises(SaleNotPostedError):
        release(("evt-not-yet", instructor, "release"))


def test_clearing_moves_due_amounts_and_is_safe_to_run_twice(instructor, platform):
    post(sale(splits=[(platform, "3.00", "platform_fee"), (instructor, "7.00", "instructor_share")]))
    post(sale(splits=[(platform, "3.00", "platform_fee"), (instructor, "5.00", "instructor_share")],
              occurred_at=later(20)))
    assert pending_amounts_clear(now=later(29)) == 0
    assert pending_amounts_clear(now=later(30)) == 2  # the first sale: instructor and platform
    assert pending_amounts_clear(now=later(30)) == 0
    balance = balance_get(payee_user_id=instructor, currency="USD")
    assert (balance.available, balance.pending) == (Decimal("7.00"), Decimal("5.00"))
    assert ledger_reconcile().ok


def test_a_refund_after_clearing_drives_available_negative_and_later_earnings_net_it(instructor, platform):
    first = sale(splits=[(platform, "3.00", "platform_fee"), (instructor, "7.00", "instructor_share")])
    post(first)
    pending_amounts_clear(now=later(30))
    post(refund_of(first, splits=[(instructor, "7.00", "instructor_share")]), now=later(31))
    assert balance_get(payee_user_id=instructor, currency="USD").available == 0
    post(refund_of(first, splits=[(platform, "3.00", "platform_fee")]), now=later(31))
    second = sale(splits=[(platform, "3.00", "platform_fee"), (instructor, "9.00", "instructor_share")],
                  occurred_at=later(31))
    post(second, now=later(31))
    pending_amounts_clear(now=later(61))
    assert balance_get(payee_user_id=instructor, currency="USD").available == Decimal("9.00")
    assert ledger_reconcile().ok
