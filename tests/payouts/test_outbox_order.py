"""Order does not matter, through the real outbox: a refund that arrives before its sale is retried, then posted."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from integration.models import DeliveryAttempt, OutboxMessage
from integration.outbox import outbox_deliver, outbox_send
from integration.topics import Topic
from payouts.models import LedgerPosting
from payouts.selectors import balance_get, ledger_reconcile
from tests.payouts.conftest import refund_of, sale

pytestmark = pytest.mark.django_db(transaction=True)


def _send(*events, aggregate: str) -> OutboxMessage:
    key = uuid.uuid4().hex
    outbox_send(topic=Topic.REVENUE_EVENTS, aggregate_key=aggregate,
                payload={"source": "lms", "idempotencyKey": key, "events": list(events)})
    return OutboxMessage.objects.get(idempotency_key=key)  # delivered (or not) after its commit


def test_a_refund_before_its_sale_is_retried_by_the_outbox_and_posted_once_the_sale_is_in(instructor, platform):
    original = sale(splits=[(platform, "3.00", "platform_fee"), (instructor, "7.00", "instructor_share")])
    refund = refund_of(original, splits=[(platform, "3.00", "platform_fee"), (instructor, "7.00", "instructor_share")])

    early = _send(refund, aggregate="test:refund-first")
    assert early.status == OutboxMessage.Status.PENDING and early.attempts == 1  # 409: kept for a retry, not dead
    assert "revenue_sale_not_posted" in early.last_error
    assert DeliveryAttempt.objects.get(message_id=early.pk).status_code == 409
    assert early.next_attempt_at > timezone.now()
    assert not LedgerPosting.objects.exists()

    assert _send(original, aggregate="test:sale").status == OutboxMessage.Status.DELIVERED
    retried = outbox_deliver(message_id=early.message_id, now=early.next_attempt_at + timedelta(seconds=1))
    assert retried.status == OutboxMessage.Status.DELIVERED
    assert retried.response["results"] == [{"eventId": refund["eventId"], "status": "processed"}]
    assert LedgerPosting.objects.filter(event_id=refund["eventId"]).count() == 1
    balance = balance_get(payee_user_id=instructor, currency="USD")
    assert (balance.pending, balance.available) == (Decimal("0"), Decimal("0"))
    assert ledger_reconcile().ok
