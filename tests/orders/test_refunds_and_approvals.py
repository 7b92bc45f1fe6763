"""Refunds (full, per line, partial; buyer and admin rules) and the enrollment-status receiver."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from integration.models import OutboxMessage
from integration.receiving import message_receive
from integration.registry import Delivery
from integration.topics import Topic
from orders.errors import (
    NotRefundable,
    OrderNotFound,
    RefundExceedsPaid,
    RefundInvalid,
    RefundWindowClosed,
    UnknownOrderLine,
)
from orders.models import EnrollmentStatusReceipt, EntitlementStatus, OrderStatus, Refund
from orders.models import TestGatewayIntent as GatewayIntent
from orders.services.refunds import refund_create

pytestmark = pytest.mark.django_db


def _refund(order, **kwargs):
    kwargs.setdefault("reason", "changed my mind")
    kwargs.setdefault("initiator", Refund.Initiator.ADMIN)
    kwargs.setdefault("actor", "admin:test")
    kwargs.setdefault("now", timezone.now())
    return refund_create(order_id=order.pk, **kwargs)


def _revokes(order):
    return [m.payload for m in OutboxMessage.objects.filter(aggregate_key=f"order:{order.pk}")
            if m.payload["event"] == "entitlement.revoked"]


def test_a_full_refund_goes_through_the_gateway_and_revokes_every_line(buyer, buy, lms, deliver):
    order = buy(buyer, "p1", "p2")
    refund = _refund(order)
    order.refresh_from_db()
    assert refund.amount == Decimal("249.00") and order.status == OrderStatus.REFUNDED
    assert order.refunded_amount == order.total
    assert GatewayIntent.objects.get().refunded == Decimal("249.00")
    (revoke,) = _revokes(order)
    assert {item["metadata"]["refundAmount"] for item in revoke["items"]} == {"199.0000", "50.0000"}
    deliver()
    assert set(order.lines.values_list("entitlement_status", flat=True)) == {EntitlementStatus.REVOKED}


def test_a_line_refund_revokes_only_that_line(buyer, buy, lms, deliver):
    order = buy(buyer, "p1", "p2")
    line = order.lines.get(external_id="course-2")
    _refund(order, line_ids=[line.pk])
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED and order.refunded_amount == Decimal("50.00")
    (revoke,) = _revokes(order)
    assert [item["externalId"] for item in revoke["items"]] == ["course-2"]
    deliver()
    states = dict(order.lines.values_list("external_id", "entitlement_status"))
    assert states == {"course-1": "granted", "course-2": "revoked"}


def test_a_partial_amount_keeps_access_and_never_exceeds_what_was_paid(buyer, buy, lms):
    order = buy(buyer, "p1")
    _refund(order, amount=Decimal("100.00"))
    assert _revokes(order) == []
    with pytest.raises(RefundExceedsPaid):
        _refund(order, amount=Decimal("99.01"))
    _refund(order, amount=Decimal("99.00"))
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED and order.refunded_amount == Decimal("199.00")
    assert len(_revokes(order)) == 1  # the line is now refunded in full: access goes
    with pytest.raises(NotRefundable):
        _refund(order)


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-5"), "abc"])
def test_a_bad_amount_is_refused_and_nothing_changes(buyer, buy, lms, amount):
    order = buy(buyer, "p1")
    with pytest.raises(RefundInvalid):
        _refund(order, amount=amount)
    order.refresh_from_db()
    assert order.refunded_amount == 0 and not order.refunds.exists()


def test_a_buyer_may_refund_within_the_window_only(buyer, buy, lms, settings):
    settings.REFUND_WINDOW_DAYS = 14
    order = buy(buyer, "p1")
    with pytest.raises(RefundWindowClosed):
        _refund(order, initiator=Refund.Initiator.BUYER, buyer_id=buyer.pk, now=order.paid_at + timedelta(days=15))
    _refund(order, initiator=Refund.Initiator.BUYER, buyer_id=buyer.pk, now=order.paid_at + timedelta(days=13))
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED


def _bought_from_the_real_lms(buyer, catalog, deliver, *, courses: int = 1):
    """An order whose lines the real LMS enrolled (the learning app's own entitlement handler)."""
    from orders.models import Order
    from orders.services.carts import cart_get_or_create, cart_item_add
    from orders.services.checkout import checkout_create
    from orders.services.payments import order_pay
    from tests.learning.factories import CourseFactory

    now = timezone.now()
    cart = cart_get_or_create(user_id=buyer.pk, now=now)
    for n in range(courses):
        course = CourseFactory()
        catalog.add(id=f"lms{n}", price="80.00", external_id=str(course.pk))
        cart_item_add(cart=cart, product_id=f"lms{n}", user_id=buyer.pk, now=now)
    order = checkout_create(user_id=buyer.pk, now=now)
    order_pay(order_id=order.pk, user_id=buyer.pk, now=now, payment_method="pm_card_visa")
    deliver()
    order = Order.objects.get(pk=order.pk)
    assert order.status == OrderStatus.COMPLETED
    return order


def test_a_buyer_cannot_refund_a_course_completed_in_the_lms(buyer, catalog, deliver, client):
    from learning.models import Enrollment
    from orders.errors import RefundAfterCompletion

    order = _bought_from_the_real_lms(buyer, catalog, deliver, courses=2)
    done, started = order.lines.order_by("position")
    Enrollment.objects.filter(pk=done.enrollment_id).update(status="completed", completed_at=timezone.now())
    with pytest.raises(RefundAfterCompletion) as refused:
        _refund(order, initiator=Refund.Initiator.BUYER, buyer_id=buyer.pk)
    assert refused.value.status_code == 403 and refused.value.details["orderItemIds"] == [str(done.pk)]
    # Over the API and the refund page: a 4xx with the catalogue's code, nothing refunded.
    client.force_login(buyer)
    api = client.post(f"/api/v1/orders/{order.pk}/refunds/", {"lineIds": [str(done.pk)], "reason": "x"},
                      content_type="application/json")
    assert api.status_code == 403 and api.json()["error"]["code"] == "refund_after_course_completion"
    page = client.post(f"/orders/{order.pk}/refund/", {"line_ids": [str(done.pk)], "reason": "x"}, follow=True)
    assert page.status_code == 200 and "A course you have completed cannot be refunded" in page.content.decode()
    order.refresh_from_db()
    assert order.refunded_amount == 0 and not order.refunds.exists()
    # The line not completed may still be refunded by the buyer; a commerce-admin may refund the other.
    _refund(order, initiator=Refund.Initiator.BUYER, buyer_id=buyer.pk, line_ids=[started.pk])
    _refund(order, line_ids=[done.pk])
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED


def test_the_completion_check_is_one_port_call_for_all_the_lines(buyer, catalog, deliver, monkeypatch):
    from integration.ports.learning import learning_port

    order = _bought_from_the_real_lms(buyer, catalog, deliver, courses=3)
    port, asked = learning_port(), []
    real = port.enrollments_completed

    def counting(**kwargs):
        asked.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(port, "enrollments_completed", counting)
    _refund(order, initiator=Refund.Initiator.BUYER, buyer_id=buyer.pk)
    assert [sorted(call["order_item_ids"]) for call in asked] == [sorted(str(pk) for pk in
                                                                        order.lines.values_list("pk", flat=True))]
    assert asked[0]["commerce_user_id"] == str(buyer.pk)


def test_someone_else_cannot_refund_a_buyers_order(buyer, buy, lms):
    from tests.identity.factories import UserFactory

    order = buy(buyer, "p1")
    with pytest.raises(OrderNotFound):
        _refund(order, initiator=Refund.Initiator.BUYER, buyer_id=UserFactory().pk)


def test_a_charge_already_refunded_at_the_processor_is_a_success(buyer, buy, lms):
    order = buy(buyer, "p1")
    GatewayIntent.objects.update(refunded=Decimal("199.00"))  # refunded outside the shop
    _refund(order)
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert "already refunded" in order.events.filter(kind="status").last().message


def test_the_refund_email(buyer, buy, lms, django_capture_on_commit_callbacks):
    order = buy(buyer, "p1")
    with django_capture_on_commit_callbacks(execute=True):
        _refund(order)
    assert any("refunded" in m.subject.lower() and m.to == [buyer.email] for m in mail.outbox)


# --- enrollment status (002 connector 2) -------------------------------------

def _status(order, line, event: str, *, enrollment_id: str = "enr-1", key: str | None = None, reason: str = ""):
    status = event.removeprefix("enrollment.")
    payload = {"source": "cadence-lms", "event": event, "payload": {
        "enrollmentId": enrollment_id, "orderId": str(order.pk), "orderItemId": str(line.pk), "status": status,
        "approvedBy": "auto-approval" if status == "approved" else None, "reason": reason or None,
        "approvedAt": timezone.now().isoformat() if status == "approved" else None}}
    result = message_receive(topic=Topic.ENROLLMENT_STATUS, payload=payload,
                             delivery=Delivery(idempotency_key=key or f"{enrollment_id}:{event}:{timezone.now()}",
                                               source_service="lms"))
    return result.body


def test_approved_after_pending_approval_grants_the_line(buyer, buy, lms):
    lms.answers["course-1"] = "pending_approval"
    order = buy(buyer, "p1")
    line = order.lines.get()
    body = _status(order, line, "enrollment.approved")
    assert body == {"success": True, "orderId": str(order.pk), "orderItemId": str(line.pk),
                    "entitlementStatus": "granted"}
    line.refresh_from_db()
    assert line.entitlement_status == EntitlementStatus.GRANTED


def test_approved_before_the_grant_answer_is_stored_ends_the_same(buyer, buy, lms, deliver):
    lms.answers["course-1"] = "pending_approval"
    order = buy(buyer, "p1", deliver_now=False)
    line = order.lines.get()
    _status(order, line, "enrollment.approved")  # arrives first
    deliver()  # then the grant's answer: pending_approval
    line.refresh_from_db()
    order.refresh_from_db()
    assert line.entitlement_status == EntitlementStatus.GRANTED and line.enrollment_id == "enr-1"
    assert order.status == OrderStatus.COMPLETED


def test_rejected_refunds_the_line_and_emails_the_buyer(buyer, buy, lms, django_capture_on_commit_callbacks):
    lms.answers["course-2"] = "pending_approval"
    order = buy(buyer, "p1", "p2")
    line = order.lines.get(external_id="course-2")
    with django_capture_on_commit_callbacks(execute=True):
        _status(order, line, "enrollment.rejected", enrollment_id="enr-2", reason="prerequisites missing")
    order.refresh_from_db()
    line.refresh_from_db()
    assert line.entitlement_status == EntitlementStatus.REVOKED and line.refunded_amount == Decimal("50.00")
    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    assert order.refunds.get().initiator == Refund.Initiator.SYSTEM
    assert any("not approved" in m.subject and "prerequisites missing" in m.body for m in mail.outbox)


def test_rejected_before_the_grant_answer_ends_the_same(buyer, buy, lms, deliver):
    lms.answers["course-1"] = "pending_approval"
    order = buy(buyer, "p1", deliver_now=False)
    line = order.lines.get()
    _status(order, line, "enrollment.rejected")
    deliver()
    line.refresh_from_db()
    order.refresh_from_db()
    assert line.entitlement_status == EntitlementStatus.REVOKED
    assert order.status == OrderStatus.REFUNDED and order.refunds.count() == 1


def test_the_same_status_under_a_new_idempotency_key_is_applied_once(buyer, buy, lms):
    lms.answers["course-1"] = "pending_approval"
    order = buy(buyer, "p1")
    line = order.lines.get()
    _status(order, line, "enrollment.rejected", key="first")
    again = _status(order, line, "enrollment.rejected", key="second")
    assert again["entitlementStatus"] == "revoked"
    assert order.refunds.count() == 1 and EnrollmentStatusReceipt.objects.count() == 1


def test_an_unknown_line_is_refused(buyer, buy, lms):
    order = buy(buyer, "p1")
    other = buy(buyer, "p2")
    with pytest.raises(UnknownOrderLine):
        _status(order, other.lines.get(), "enrollment.approved")
