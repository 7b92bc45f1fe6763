"""The LMS failing for a while (500, time-outs), and webhooks delivered twice, late and out of order.

Every app is real and messages go through the outbox; time moves with freezegun to each retry's
``next_attempt_at`` and past the resend window. After each recovery ``manage.py reconcile all`` must
report no difference left (and before recovery, it must report the one it cannot fix and exit non-zero).
"""

from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.conf import settings
from django.utils import timezone
from freezegun import freeze_time

from integration import routes
from integration.contracts import encode_json
from integration.errors import ServerError
from integration.models import OutboxMessage
from integration.outbox import outbox_sweep
from integration.topics import Topic
from integration.transport import sender_of
from learning.models import Enrollment, EntitlementLine
from orders.models import EnrollmentStatusReceipt, Order, OrderEvent
from payouts.models import RevenueLedgerEntry as LedgerEntry
from tests.integration.conftest import signed_post
from tests.integration.faults import (
    Flaky,
    assert_consistent,
    assert_zero_differences,
    buy,
    people,
    publish_course,
    reconcile_all,
    reconcile_fails,
    refund,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _grant(order_id: str) -> OutboxMessage:
    return OutboxMessage.objects.filter(topic=Topic.ENTITLEMENT, aggregate_key=f"order:{order_id}",
                                        payload__event="entitlement.granted").order_by("id").first()


def _post(client, message: OutboxMessage, *, payload: dict | None = None, key: str | None = None):
    """``message`` as its receiver's signed webhook (the split deployment's wire), from the side that sends it."""
    route = routes.TOPICS[message.topic]
    return signed_post(client, route.path, encode_json(payload or message.payload), key=key or message.idempotency_key,
                       source=sender_of(route))


def _pending_balance(user) -> Decimal:
    from payouts.models import PayoutBalance

    return sum((b.pending for b in PayoutBalance.objects.filter(payee_user_id=str(user.id))), Decimal("0"))


def test_the_lms_answering_500_for_a_while_then_the_retry_completes_the_order(api_client):
    who = people()
    course = publish_course(title="Resilience")
    lms = Flaky(Topic.ENTITLEMENT, ServerError("The LMS is down."))
    order_id = buy(api_client, who["learner"], course)
    grant = _grant(order_id)
    assert (grant.status, grant.attempts, Order.objects.get(pk=order_id).status) == ("pending", 1, "paid")
    assert grant.delivery_attempts.get().status_code == 500

    out = reconcile_all()
    assert "1 in flight" in out, "paid a moment ago: waiting, not yet a difference"
    assert_zero_differences(out)

    paid_at = Order.objects.get(pk=order_id).paid_at
    with freeze_time(paid_at + timedelta(minutes=settings.ENTITLEMENT_RESEND_AFTER_MINUTES + 1)):
        out = reconcile_fails()  # the LMS still answers 500: pushed again, still waiting, exit non-zero
    assert "FOUND waiting" in out and "UNFIXED waiting" in out and "still waiting for the LMS" in out, out
    assert "left differences or failed in: enrollments" in out
    assert lms.calls >= 2

    lms.down = False
    grant.refresh_from_db()
    assert grant.status == "pending" and grant.next_attempt_at > paid_at
    with freeze_time(grant.next_attempt_at + timedelta(seconds=1)):
        outbox_sweep()  # beat's sweep at the retry's time
        out = reconcile_all()
    assert Order.objects.get(pk=order_id).status == "completed"
    assert Enrollment.objects.get(commerce_order_id=order_id).status == "active"
    assert_zero_differences(out)
    assert_consistent()
    assert _pending_balance(who["instructor"]) > 0, "the revenue event reached the ledger"


def test_the_lms_timing_out_then_reconcile_delivers_the_waiting_grant(api_client):
    who = people()
    course = publish_course(title="Patience")
    lms = Flaky(Topic.ENTITLEMENT, requests.exceptions.ReadTimeout("Read timed out. (read timeout=10.0)"))
    order_id = buy(api_client, who["learner"], course)
    assert _grant(order_id).delivery_attempts.get().status_code is None
    lms.down = False  # back, but the retry is an hour away: reconciliation does not wait for it

    paid_at = Order.objects.get(pk=order_id).paid_at
    with freeze_time(paid_at + timedelta(minutes=settings.ENTITLEMENT_RESEND_AFTER_MINUTES + 1)):
        out = reconcile_all()
    assert "1 grant(s) delivered now" in out, out
    assert Order.objects.get(pk=order_id).status == "completed"
    assert OrderEvent.objects.filter(order_id=order_id, message__contains="timeout").exists()
    assert_zero_differences(out)
    assert_consistent()


def test_a_refund_whose_revoke_the_lms_missed_is_found_and_fixed_by_reconcile_enrollments(api_client):
    who = people()
    course = publish_course(title="Second thoughts")
    order_id = buy(api_client, who["learner"], course)
    assert Order.objects.get(pk=order_id).status == "completed"
    lms = Flaky(Topic.ENTITLEMENT, ServerError("The LMS is down."))
    refund(api_client, order_id)
    assert Enrollment.objects.get(commerce_order_id=order_id).status == "active", "the revoke did not get through"

    out = reconcile_fails("enrollments")
    assert "FOUND still_enrolled" in out and "UNFIXED still_enrolled" in out, out
    lms.down = False
    out = reconcile_all("enrollments")
    assert "FOUND still_enrolled" in out and "FIXED order" in out and "1 fixed, 0 left" in out, out
    assert Enrollment.objects.get(commerce_order_id=order_id).status == "revoked"
    assert_zero_differences(reconcile_all())
    assert_consistent()
    assert _pending_balance(who["instructor"]) == 0


def test_grants_approvals_and_revenue_events_delivered_twice_and_late_change_nothing(api_client, client):
    from learning.services.enrollments import enrollment_approve

    who = people()
    course = publish_course(title="Approval needed", requires_approval=True)
    order_id = buy(api_client, who["learner"], course)
    grant = _grant(order_id)
    enrollment = Enrollment.objects.get(commerce_order_id=order_id)
    assert enrollment.status == "pending"

    for _ in range(2):  # the same grant again, over the webhook: the inbox answers the first result
        answer = _post(client, grant)
        assert answer.status_code == 200 and answer.json()["results"][0]["enrollmentId"] == str(enrollment.id)
    late = {**grant.payload, "idempotencyKey": f"grant:{order_id}:late"}  # a resend under a new key
    answer = _post(client, grant, payload=late, key=late["idempotencyKey"])
    assert answer.status_code == 200 and answer.json()["results"][0]["enrollmentId"] == str(enrollment.id)
    assert Enrollment.objects.count() == 1 and EntitlementLine.objects.count() == 1

    enrollment_approve(enrollment=enrollment, actor=None, now=timezone.now())
    status = OutboxMessage.objects.get(topic=Topic.ENROLLMENT_STATUS)
    assert status.status == "delivered"
    sales = list(OutboxMessage.objects.filter(topic=Topic.REVENUE_EVENTS))
    assert sales and all(m.status == "delivered" for m in sales)
    entries = LedgerEntry.objects.count()
    balance = _pending_balance(who["instructor"])
    for _ in range(2):
        assert _post(client, status).status_code == 200
        for message in sales:
            assert _post(client, message).status_code == 200
    # The late grant again, after the approval: still the one enrollment, still approved.
    assert _post(client, grant, payload=late, key=late["idempotencyKey"]).status_code == 200
    assert EnrollmentStatusReceipt.objects.count() == 1
    assert LedgerEntry.objects.count() == entries and _pending_balance(who["instructor"]) == balance > 0
    assert Order.objects.get(pk=order_id).lines.get().entitlement_status == "granted"
    assert_zero_differences(reconcile_all())
    assert_consistent()


def test_a_revoke_that_overtakes_its_grant_turns_the_late_grant_away(api_client, client):
    who = people()
    course = publish_course(title="Out of order")
    lms = Flaky(Topic.ENTITLEMENT, ServerError("The LMS is down."))
    order_id = buy(api_client, who["learner"], course)
    refund(api_client, order_id)  # the revoke waits in the outbox behind the grant (one order, one line)
    grant = _grant(order_id)
    revoke = OutboxMessage.objects.get(topic=Topic.ENTITLEMENT, payload__event="entitlement.revoked")
    assert (grant.status, revoke.status, revoke.attempts) == ("pending", "pending", 0)

    lms.down = False
    assert _post(client, revoke).status_code == 200  # the revoke arrives first, by another path
    with freeze_time(grant.next_attempt_at + timedelta(seconds=1)):
        outbox_sweep()  # then the grant, late; then the revoke again from the outbox
    grant.refresh_from_db()
    revoke.refresh_from_db()
    assert (grant.status, revoke.status) == ("delivered", "delivered")
    assert grant.response["results"][0]["error"] == "revoked"
    assert not Enrollment.objects.exists(), "the late grant enrolled nobody"
    order = Order.objects.get(pk=order_id)
    assert order.status == "refunded" and order.lines.get().entitlement_status == "revoked"
    assert_zero_differences(reconcile_all())
    assert_consistent()


def test_revenue_events_out_of_order_and_twice_leave_the_ledger_balanced(api_client, client):
    who = people()
    course = publish_course(title="Money order")
    ledger = Flaky(Topic.REVENUE_EVENTS, ServerError("Commerce's ledger is down."))
    order_id = buy(api_client, who["learner"], course)
    refund(api_client, order_id)  # the sale's and the refund's revenue events both wait
    sale, refunded = OutboxMessage.objects.filter(topic=Topic.REVENUE_EVENTS).order_by("id")
    assert (sale.status, refunded.status) == ("pending", "pending")

    ledger.down = False
    first = _post(client, refunded)  # the refund first: its sale is not there yet, the sender must retry
    assert first.status_code == 409, first.content
    assert _post(client, sale).status_code == 200
    assert _post(client, sale).status_code == 200  # twice
    assert _post(client, refunded).status_code == 200
    assert _post(client, refunded).status_code == 200  # twice
    assert _pending_balance(who["instructor"]) == 0
    entries = LedgerEntry.objects.count()
    sale.refresh_from_db()
    with freeze_time(max(sale.next_attempt_at, timezone.now()) + timedelta(seconds=1)):
        outbox_sweep()  # the outbox's own deliveries, late: answered from the inbox, nothing posted again
    assert set(OutboxMessage.objects.filter(topic=Topic.REVENUE_EVENTS).values_list("status", flat=True)) == {
        "delivered"}
    assert LedgerEntry.objects.count() == entries and _pending_balance(who["instructor"]) == 0
    assert_zero_differences(reconcile_all())
    assert_consistent()
