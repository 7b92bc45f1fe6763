"""Demo earnings (seed.payouts) and `manage.py reconcile ledger`."""

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from integration import registry
from payouts.models import Payout, PayoutBalance
from payouts.selectors import balance_get

pytestmark = pytest.mark.django_db


def test_seed_gives_the_demo_payees_earnings_in_both_states_and_a_past_payout():
    from integration.ports.identity import identity_port

    registry.get_provider("seed.identity")(stdout=io.StringIO())
    first, second = io.StringIO(), io.StringIO()
    registry.get_provider("seed.payouts")(stdout=first)
    registry.get_provider("seed.payouts")(stdout=second)
    assert "created" in first.getvalue() and "created" not in second.getvalue()
    for email in ("instructor@example.com", "creator@example.com"):
        payee = str(identity_port().user_find(email=email).id)
        balance = balance_get(payee_user_id=payee, currency="USD")
        assert balance.available > 0 and balance.pending > 0 and balance.held > 0
        assert Payout.objects.filter(payee_user_id=payee, status="paid").count() == 1
    out = io.StringIO()
    call_command("reconcile", "ledger", stdout=out)
    assert "every balance equals its ledger entries" in out.getvalue()


def test_reconcile_reports_a_balance_that_differs_from_its_entries(instructor, platform):
    from tests.payouts.conftest import post, sale

    post(sale(splits=[(platform, "3.00", "platform_fee"), (instructor, "7.00", "instructor_share")]))
    with connection.cursor() as cursor:  # a projection row tampered with behind the services' back
        cursor.execute("UPDATE payouts_payoutbalance SET pending = pending + 1 WHERE payee_user_id = %s", [instructor])
    assert PayoutBalance.objects.get(payee_user_id=instructor).pending == Decimal("8.00")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("reconcile", "ledger", stdout=out, stderr=io.StringIO())
    assert f"DIFFERENCE {instructor} USD pending: balance 8.0000, ledger 7.0000" in out.getvalue()


def test_the_demo_sales_are_in_the_ledger_on_the_dates_the_chart_shows():
    from django.utils import timezone

    from integration.ports.identity import identity_port
    from payouts.models import LedgerPosting, RevenueLedgerEntry
    from payouts.selectors import earnings_by_month

    registry.get_provider("seed.identity")(stdout=io.StringIO())
    registry.get_provider("seed.payouts")(stdout=io.StringIO())
    sales = LedgerPosting.objects.filter(event_id__startswith="demo-sale-")
    assert sales.count() == 6
    assert {posting.created_at.date() for posting in sales} == {posting.occurred_at.date() for posting in sales}
    assert len({posting.created_at.date() for posting in sales}) == 6  # not all today
    payee = str(identity_port().user_find(email="instructor@example.com").id)
    chart = earnings_by_month(payee_user_id=payee, currency="USD", today=timezone.now().date())
    charted = {label for label, earned in zip(chart["labels"], chart["earned"], strict=True) if Decimal(earned)}
    ledger_months = {entry.created_at.strftime("%Y-%m") for entry in RevenueLedgerEntry.objects.filter(
        payee_user_id=payee, posting__kind="sale")}
    assert charted == ledger_months and len(ledger_months) >= 3
    # A cleared sale cleared PAYOUT_CLEARING_DAYS after its date, not on the day the seed ran.
    first_clearing = (LedgerPosting.objects.filter(kind="clearing").order_by("created_at").first())
    assert first_clearing.created_at.date() < timezone.now().date()
