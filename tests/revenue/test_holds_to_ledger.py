"""Held shares in the monolith, from the LMS's lifecycle facts to Commerce's ledger through the outbox."""

from datetime import timedelta
from decimal import Decimal

import pytest

from integration.models import OutboxMessage
from integration.ports.identity import identity_port
from integration.topics import Topic
from payouts.models import PendingAmount
from payouts.selectors import balance_get, ledger_reconcile
from revenue.services.lifecycle import holds_settle_due, lifecycle_event_record
from tests.orders_paid import orders_paid_fixture
from tests.revenue.conftest import NOW, activated
from tests.revenue.factories import config_set

pytestmark = pytest.mark.django_db(transaction=True)


def record(event: str, payload: dict, now=NOW):
    return lifecycle_event_record(idempotency_key=f"{event}:{payload['enrollmentId']}", event=event,
                                  payload=payload, now=now)


def _balance(user) -> tuple[Decimal, Decimal]:
    balance = balance_get(payee_user_id=str(user if isinstance(user, str) else user.pk), currency="USD")
    return balance.held, balance.pending


def test_an_instructor_share_released_by_completion_and_interaction_and_another_forfeited_by_expiry(people):
    instructor, creator = people["instructor"], people["creator"]
    platform = str(identity_port().platform_payee().id)
    config_set(instructor_email="teach@example.com", release_policy="on_completion", now=NOW)

    kept = activated(amount="100.00", fee="0")
    lost = activated(amount="100.00", fee="0")
    record("enrollment.activated", kept)
    record("enrollment.activated", lost)
    # 30/40/30 of 100.00 twice, the instructor's and the creator's held until completion.
    assert _balance(instructor) == (Decimal("60.00"), Decimal("60.00"))
    assert _balance(creator) == (Decimal("80.00"), Decimal("80.00"))
    platform_pending = _balance(platform)[1]

    record("enrollment.completed", {**kept, "completedAt": NOW + timedelta(days=5), "interactionMet": False})
    assert _balance(creator) == (Decimal("40.00"), Decimal("80.00"))  # the creator's share is released
    assert _balance(instructor) == (Decimal("60.00"), Decimal("60.00"))  # the instructor waits for the interaction
    record("enrollment.interaction_met", {**kept, "metAt": NOW + timedelta(days=6)}, now=NOW + timedelta(days=6))
    assert _balance(instructor) == (Decimal("30.00"), Decimal("60.00"))
    released = PendingAmount.objects.get(payee_user_id=str(instructor.pk), event_id=f"rev_sale_{kept['enrollmentId']}")
    assert released.state == PendingAmount.State.PENDING and released.available_on is not None

    record("enrollment.expired", {**lost, "expiredAt": NOW + timedelta(days=90)}, now=NOW + timedelta(days=90))
    assert holds_settle_due(now=NOW + timedelta(days=91)) == 1
    # Forfeited: off both payees' books, onto the platform's pending account.
    assert _balance(instructor) == (Decimal("0"), Decimal("30.00"))
    assert _balance(creator) == (Decimal("0"), Decimal("40.00"))
    assert _balance(platform)[1] == platform_pending + Decimal("70.00")
    assert set(OutboxMessage.objects.filter(topic__in=[Topic.REVENUE_EVENTS, Topic.REVENUE_RELEASES])
               .values_list("status", flat=True)) == {OutboxMessage.Status.DELIVERED}
    assert ledger_reconcile().ok


# The lifecycle facts name orders no checkout made here: they count as paid in USD.
_orders_paid = orders_paid_fixture(any_currency="USD")
