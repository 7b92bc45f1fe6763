"""A line the LMS answers ``already_enrolled``: the buyer paid for access they already had, so it is refunded.

The LMS keeps the earlier enrollment (the line opened none, so its revoke leaves it), no revenue is split
for it, and the buyer is told in plain words and by email.
"""

from decimal import Decimal

import pytest
from django.core import mail

from orders.models import EntitlementStatus, OrderStatus, Refund

pytestmark = pytest.mark.django_db


def test_an_item_the_buyer_already_had_is_refunded_and_the_rest_of_the_order_stands(
        buyer, buy, lms, deliver, django_capture_on_commit_callbacks):
    lms.answers["course-2"] = "already_enrolled"
    with django_capture_on_commit_callbacks(execute=True):
        order = buy(buyer, "p1", "p2")
    deliver()
    order.refresh_from_db()
    lines = {line.external_id: line for line in order.lines.all()}
    assert lines["course-1"].entitlement_status == EntitlementStatus.GRANTED
    assert lines["course-2"].entitlement_status == EntitlementStatus.REVOKED
    assert lines["course-2"].refunded_amount == Decimal("50.00") and lines["course-1"].refunded_amount == 0
    assert order.status == OrderStatus.PARTIALLY_REFUNDED and order.refunded_amount == Decimal("50.00")
    assert order.lms_user_id == f"lms-{str(buyer.pk)[:8]}"  # the answer's LMS user kept across the refund
    refund = order.refunds.get()
    assert refund.initiator == Refund.Initiator.SYSTEM and refund.amount == Decimal("50.00")
    assert any("already enrolled" in event.message for event in order.events.all())
    assert any("You already had" in message.subject for message in mail.outbox)
    revokes = [m for m in lms.received if m.event == "entitlement.revoked"]
    assert [[item.external_id for item in m.items] for m in revokes] == [["course-2"]]


def test_the_same_answer_stored_again_refunds_once(buyer, buy, lms, deliver):
    from types import SimpleNamespace

    from orders.services.fulfilment import entitlement_answer_store

    lms.answers["course-1"] = "already_enrolled"
    order = buy(buyer, "p1")
    line = order.lines.get()
    again = SimpleNamespace(order_item_id=str(line.pk), external_id="course-1", status="already_enrolled",
                            enrollment_id="enr-1", error=None)
    entitlement_answer_store(order_id=str(order.pk), event="entitlement.granted", results=[again],
                             lms_user_id="", now=order.created_at)
    deliver()
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED and order.refunds.count() == 1
    assert order.refunded_amount == order.total


def test_a_free_item_already_had_is_simply_granted(buyer, lms, deliver, products, buy):
    products.add(id="p0", price="0.00", external_id="course-0")
    lms.answers["course-0"] = "already_enrolled"
    order = buy(buyer, "p0")
    assert order.lines.get().entitlement_status == EntitlementStatus.GRANTED
    assert order.refunds.count() == 0 and order.status == OrderStatus.COMPLETED
