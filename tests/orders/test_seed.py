"""seed.orders through ``seed_demo``: the demo orders in their different states, once."""

import io

import pytest
from django.core.management import call_command

from integration.ports.identity import identity_port
from orders.models import EntitlementStatus, Order, OrderStatus

pytestmark = pytest.mark.django_db


def _states(email: str) -> list[tuple[str, list[str]]]:
    user = identity_port().user_find(email=email)
    return [(order.status, [line.entitlement_status for line in order.lines.all()])
            for order in Order.objects.filter(user_id=user.id).prefetch_related("lines")]


def test_seed_demo_leaves_completed_refunded_and_pending_approval_orders_once(deliver):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    deliver()  # what the worker (or, in `make run`, the in-process delivery after commit) does
    learner = _states("learner@example.com")
    assert sorted(learner) == sorted([(OrderStatus.COMPLETED, [EntitlementStatus.GRANTED]),
                                      (OrderStatus.COMPLETED, [EntitlementStatus.GRANTED]),
                                      (OrderStatus.REFUNDED, [EntitlementStatus.REVOKED])])
    # The learner is enrolled in the approval course by the LMS's seed (granted: already enrolled) ...
    assert EntitlementStatus.PENDING_APPROVAL not in {s for _, states in learner for s in states}
    # ... so another demo buyer's order of that course is the one waiting for the department's approval.
    assert _states("admin@example.com") == [(OrderStatus.PAID, [EntitlementStatus.PENDING_APPROVAL])]  # until approved
    assert "for admin@example.com" in out.getvalue()

    again = io.StringIO()
    call_command("seed_demo", stdout=again)
    assert Order.objects.count() == 4
    assert "kept    the pending-approval order of admin@example.com" in again.getvalue()
