"""The commerce-admin's payouts admin: the ledger (postings and entries) and the releases are read-only (never
added, changed or deleted); every list searches and filters, and costs the same statements for 2 payees as
for 6 (no query per row)."""

from decimal import Decimal

import pytest

from payouts.models import LedgerPosting, Payout, RevenueLedgerEntry, RevenueRelease
from payouts.services.clearing import pending_amounts_clear
from payouts.services.payouts import payout_create, payout_hold_place, payout_send
from payouts.services.settings import payout_account_set, payout_schedule_set, tax_info_set
from tests.admin_lists import assert_lists_flat
from tests.identity.factories import UserFactory
from tests.payouts.conftest import NOW, later, post, release, sale

pytestmark = pytest.mark.django_db

LISTS = ["ledgerposting", "revenueledgerentry", "payoutbalance", "pendingamount", "revenuerelease", "payoutaccount",
         "taxinfo", "payoutschedule", "payouthold", "payout"]


@pytest.fixture
def staff(admin_client):
    return admin_client


def _payees(platform, count: int) -> list[str]:
    """Each payee sold twice (one share held until completion, then released), paid out by hand, held."""
    payees = []
    for _ in range(count):
        payee = str(UserFactory().pk)
        held = sale(splits=[(platform, "5.00", "platform_fee"), (payee, "20.00", "instructor_share", True)])
        post(sale(splits=[(platform, "10.00", "platform_fee"), (payee, "100.00", "instructor_share")]), held)
        release((held["eventId"], payee, "release"))
        payout_account_set(payee_user_id=payee, method="manual", account_holder="A Teacher",
                           account_number="DE89 3704 0044 0532 0130 00", now=NOW)
        tax_info_set(payee_user_id=payee, legal_name="A Teacher", country="DE", tax_id="DE123456789", form="w8ben",
                     now=NOW)
        payout_schedule_set(payee_user_id=payee, frequency="weekly", day=2, minimum_amount=Decimal("10"), now=NOW)
        payees.append(payee)
    pending_amounts_clear(now=later(31))
    for payee in payees:
        payout = payout_create(payee_user_id=payee, currency="USD", amount=Decimal("50.00"), now=later(31))
        payout_send(payout_id=payout.id, now=later(31))
        payout_hold_place(payee_user_id=payee, reason="review", actor="admin", now=later(31))
    return payees


def test_every_list_costs_the_same_for_two_payees_as_for_six(staff, platform, django_assert_max_num_queries):
    _payees(platform, 2)
    assert_lists_flat(staff, [f"/admin/payouts/{name}/" for name in LISTS], more=lambda: _payees(platform, 4),
                      max_queries=django_assert_max_num_queries)


def test_search_and_filters_find_the_payee(staff, platform):
    first, second = _payees(platform, 2)
    for name in ["revenueledgerentry", "payoutbalance", "pendingamount", "revenuerelease", "payout", "payouthold",
                 "payoutschedule"]:
        page = staff.get(f"/admin/payouts/{name}/", {"q": first}).content.decode()
        assert first in page and second not in page, name
    assert first in staff.get("/admin/payouts/revenuerelease/", {"action__exact": "release"}).content.decode()
    assert first not in staff.get("/admin/payouts/revenuerelease/", {"action__exact": "forfeit"}).content.decode()
    awaiting = staff.get("/admin/payouts/payout/", {"status__exact": Payout.Status.AWAITING_CONFIRMATION})
    assert first in awaiting.content.decode()
    for name in ["ledgerposting", "revenueledgerentry", "revenuerelease", "payout", "pendingamount", "payouthold"]:
        assert b'class="toplinks"' in staff.get(f"/admin/payouts/{name}/").content, name  # the date drill-down


def test_the_ledger_and_the_releases_cannot_be_edited_or_deleted(staff, platform):
    _payees(platform, 1)
    posting, entry, released = LedgerPosting.objects.first(), RevenueLedgerEntry.objects.first(), \
        RevenueRelease.objects.get()
    for name, pk in (("ledgerposting", posting.pk), ("revenueledgerentry", entry.pk), ("revenuerelease", released.pk)):
        assert staff.get(f"/admin/payouts/{name}/add/").status_code == 403, name
        assert staff.get(f"/admin/payouts/{name}/{pk}/delete/").status_code == 403, name
        page = staff.get(f"/admin/payouts/{name}/{pk}/change/")
        assert page.status_code == 200 and b'name="_save"' not in page.content, name  # view only
        assert staff.post(f"/admin/payouts/{name}/{pk}/change/", {}).status_code == 403, name
    before = RevenueLedgerEntry.objects.count()
    staff.post("/admin/payouts/revenueledgerentry/", {"action": "delete_selected", "_selected_action": [entry.pk],
                                                      "post": "yes"})
    assert RevenueLedgerEntry.objects.count() == before
