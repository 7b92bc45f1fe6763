"""Concurrent deliveries and payout requests on PostgreSQL: posted once, balances equal to the ledger, no overdraft."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from payouts.errors import InsufficientBalanceError, LedgerPostingConflictError
from payouts.models import LedgerPosting, Payout
from payouts.selectors import balance_get, ledger_reconcile
from payouts.services.clearing import pending_amounts_clear
from payouts.services.payouts import payout_create
from payouts.services.settings import payout_account_set, tax_info_set
from tests.payouts.conftest import NOW, later, post, sale

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
WORKERS = 50


def run_concurrently(function, count=WORKERS):
    barrier = threading.Barrier(count)

    def worker(index):
        try:
            barrier.wait()
            return function(index)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda i: _outcome(worker, i), range(count)))


def _outcome(worker, index):
    try:
        return worker(index)
    except Exception as error:  # collected and asserted on by the test
        return error


def test_fifty_concurrent_deliveries_of_one_event_post_it_once(instructor, platform):
    event = sale(splits=[(platform, "3.00", "platform_fee"), (instructor, "7.00", "instructor_share")])
    outcomes = run_concurrently(lambda _: post(event)[0].status)
    # A delivery that lost the race at the unique key answers 409 and its retry says "duplicate".
    assert all(o in {"processed", "duplicate"} or isinstance(o, LedgerPostingConflictError) for o in outcomes), outcomes
    assert outcomes.count("processed") == 1
    assert LedgerPosting.objects.filter(event_id=event["eventId"]).count() == 1
    assert balance_get(payee_user_id=instructor, currency="USD").pending == Decimal("7.00")
    assert ledger_reconcile().ok


def test_fifty_concurrent_events_for_one_payee_leave_the_balance_equal_to_the_ledger(instructor, platform):
    events = [sale(splits=[(platform, "1.11", "platform_fee"), (instructor, f"{i + 1}.00", "instructor_share")])
              for i in range(WORKERS)]
    outcomes = run_concurrently(lambda i: post(events[i])[0].status)
    assert outcomes == ["processed"] * WORKERS
    expected = sum(Decimal(f"{i + 1}.00") for i in range(WORKERS))
    assert balance_get(payee_user_id=instructor, currency="USD").pending == expected
    report = ledger_reconcile()
    assert report.ok and report.entries_summed == 2 * WORKERS


def test_fifty_concurrent_payout_requests_never_overdraw_the_balance(instructor, platform):
    post(sale(splits=[(platform, "10.00", "platform_fee"), (instructor, "100.00", "instructor_share")]))
    pending_amounts_clear(now=later(31))
    payout_account_set(payee_user_id=instructor, method="stripe_connect", stripe_account_id="acct_1TestPayee",
                       now=NOW)
    tax_info_set(payee_user_id=instructor, legal_name="Ada Teacher", country="US", tax_id="123-45-6789", form="w9",
                 now=NOW)
    outcomes = run_concurrently(lambda _: payout_create(payee_user_id=instructor, currency="USD",
                                                        amount=Decimal("7.00"), now=later(31)))
    made = [o for o in outcomes if isinstance(o, Payout)]
    refused = [o for o in outcomes if isinstance(o, InsufficientBalanceError)]
    assert len(made) == 14 and len(refused) == WORKERS - 14, outcomes
    balance = balance_get(payee_user_id=instructor, currency="USD")
    assert balance.available == Decimal("2.00")
    assert ledger_reconcile().ok
