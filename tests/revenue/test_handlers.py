"""``enrollment.lifecycle`` through the outbox and the local adapter, as the learning app sends it."""

from datetime import timedelta
from decimal import Decimal

import pytest

from integration.contracts import to_json_types
from integration.models import OutboxMessage
from integration.outbox import outbox_deliver, outbox_send
from integration.topics import Topic
from revenue.models import LifecycleEventSeen, RevenueSale
from tests.revenue.conftest import NOW, activated, revenue_events
from tests.revenue.factories import config_set

pytestmark = pytest.mark.django_db


def send_lifecycle(event: str, payload: dict) -> OutboxMessage:
    key = f"{event}:{payload['enrollmentId']}"
    message = outbox_send(topic=Topic.ENROLLMENT_LIFECYCLE,
                          payload={"source": "lms", "idempotencyKey": key, "event": event,
                                   "payload": to_json_types(payload)},
                          aggregate_key=f"enrollment:{payload['enrollmentId']}")
    outbox_deliver(message_id=message.message_id, force=True)
    message.refresh_from_db()
    return message


def test_a_lifecycle_message_is_handled_by_revenue_once(people):
    config_set(instructor_email="teach@example.com", release_policy="on_completion")
    payload = activated()
    message = send_lifecycle("enrollment.activated", payload)
    assert message.status == OutboxMessage.Status.DELIVERED
    assert RevenueSale.objects.get().event_id == f"rev_sale_{payload['enrollmentId']}"
    outbox_deliver(message_id=message.message_id, force=True)  # a second delivery of the same message
    assert len(revenue_events()) == 1
    completed = {key: payload[key] for key in ("enrollmentId", "lmsUserId", "commerceUserId", "productType",
                                               "externalId", "courseId", "source")}
    send_lifecycle("enrollment.completed", {**completed, "completedAt": NOW + timedelta(days=3),
                                            "interactionMet": True})
    assert LifecycleEventSeen.objects.count() == 2
    releases = OutboxMessage.objects.filter(topic=Topic.REVENUE_RELEASES).get()
    assert {r["action"] for r in releases.payload["releases"]} == {"release"}


def test_a_sale_without_config_is_answered_409_and_retried_by_the_outbox(people):
    payload = activated(amount="50.00", fee="1.75")
    message = send_lifecycle("enrollment.activated", payload)
    assert message.status == OutboxMessage.Status.PENDING  # retryable: the outbox tries again later
    assert message.attempts >= 1
    config_set()
    outbox_deliver(message_id=message.message_id, force=True)
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.DELIVERED
    [event] = revenue_events()
    assert event["totalAmount"] == str(Decimal("48.25"))
