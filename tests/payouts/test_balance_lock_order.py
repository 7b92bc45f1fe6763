"""Concurrent postings on overlapping payees that have no balance yet, on PostgreSQL: none deadlocks.

Each worker names the payees in its own order (one the reverse of another); every balance row is created or
locked in the one sorted order of :func:`payouts.services.ledger.balances_lock`, so no two of them wait on
each other. With the keys taken in the caller's order instead, the first test saw PostgreSQL abort
deliveries (``deadlock detected``) within a few rounds.
"""

import itertools
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection, transaction

from payouts.models import Account, LedgerPosting
from payouts.selectors import balance_get, ledger_reconcile
from payouts.services.ledger import CREDIT, DEBIT, PostingDraft, balances_lock, postings_write
from tests.identity.factories import UserFactory
from tests.payouts.conftest import NOW, post, sale

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 30
PAYEES = 4
# Six orders of the four payees, each with its reverse: every pair of payees is taken both ways round.
ORDERS = [order for order in itertools.permutations(range(PAYEES)) if order[0] < order[-1]][:3]
ORDERS += [tuple(reversed(order)) for order in ORDERS]


def _together(functions) -> list:
    """Runs each function in its own thread and connection, all released at once; answers or exceptions."""
    barrier = threading.Barrier(len(functions))

    def worker(function):
        try:
            connection.ensure_connection()  # connected before the start, so the workers meet at the locks
            barrier.wait()
            return function()
        except Exception as error:  # collected and asserted on by the test
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(functions)) as pool:
        return list(pool.map(worker, functions))


def _post_in_order(payees: list[str], platform: str) -> str:
    """One posting crediting each payee 1.00 pending, its balances locked in the order given."""
    keys = [(payee, "USD") for payee in [*payees, platform]]
    draft = PostingDraft(key=f"test:{uuid.uuid4()}", kind=LedgerPosting.Kind.SALE, currency="USD", occurred_at=NOW)
    draft.add(Account.SALES_CLEARING, DEBIT, Decimal(len(keys)), "sale")
    for payee, _ in keys:
        draft.add(Account.PAYEE_PENDING, CREDIT, Decimal("1.00"), "instructor_share", payee)
    with transaction.atomic():
        postings_write(drafts=[draft], balances=balances_lock(keys=keys, now=NOW), now=NOW)
    return "posted"


def test_postings_locking_new_payees_in_opposite_orders_never_deadlock(platform):
    for round_ in range(ROUNDS):
        payees = [str(uuid.uuid4()) for _ in range(PAYEES)]  # the ledger asks no one who its payees are
        outcomes = _together([lambda order=order: _post_in_order([payees[n] for n in order], platform)
                              for order in ORDERS])
        assert outcomes == ["posted"] * len(ORDERS), (round_, outcomes)
        for payee in payees:
            assert balance_get(payee_user_id=payee, currency="USD").pending == len(ORDERS)
    assert balance_get(payee_user_id=platform, currency="USD").pending == ROUNDS * len(ORDERS)
    report = ledger_reconcile()
    assert report.ok and report.entries_summed == ROUNDS * len(ORDERS) * (PAYEES + 1)  # the payee legs


def test_deliveries_of_events_on_overlapping_new_payees_all_post(platform):
    """The delivery's own path (``revenue_events_post``): events whose splits name overlapping new payees in
    opposite orders, some of them a subset, all posted at once; none is aborted and retried."""
    orders = [(0, 1, 2), (2, 1, 0), (1, 2), (2, 0), (0, 2, 1), (1, 0)]
    for round_ in range(ROUNDS // 2):
        payees = [str(UserFactory().pk) for _ in range(3)]
        events = [sale(splits=[(platform, "1.00", "platform_fee")]
                       + [(payees[n], f"{n + 1}.00", "instructor_share") for n in order]) for order in orders]
        outcomes = _together([lambda event=event: post(event)[0].status for event in events])
        assert outcomes == ["processed"] * len(events), (round_, outcomes)
        for n, payee in enumerate(payees):
            expected = sum(Decimal(n + 1) for order in orders if n in order)
            assert balance_get(payee_user_id=payee, currency="USD").pending == expected
    assert ledger_reconcile().ok
