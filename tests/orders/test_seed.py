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
                                      (OrderStatus.PAID, [EntitlementStatus.PENDING_APPROVAL]),
                                      (OrderStatus.REFUNDED, [EntitlementStatus.REVOKED])])
    # The LMS's seed enrolls the learner by hand in no course the store's seed sells them: every learner
    # order opened its own enrollment, none paid for one the learner already had.
    learner_orders = Order.objects.filter(user_id=identity_port().user_find(email="learner@example.com").id)
    assert not any("already" in event.message.lower() for order in learner_orders for event in order.events.all())
    # Another demo buyer's order of the approval course waits for the department's approval too.
    assert _states("admin@example.com") == [(OrderStatus.PAID, [EntitlementStatus.PENDING_APPROVAL])]  # until approved
    assert "for admin@example.com" in out.getvalue()
    # The logins come last, after whatever the seeding printed (a console mail backend prints the demo's emails).
    assert out.getvalue().rstrip().splitlines()[-1] == (
        "Log in at /account/login/ as admin@example.com, instructor@example.com, creator@example.com, "
        "learner@example.com (password demo-pass-123 for all).")

    again = io.StringIO()
    call_command("seed_demo", stdout=again)
    assert Order.objects.count() == 4
    assert "kept    the pending-approval order of admin@example.com" in again.getvalue()
