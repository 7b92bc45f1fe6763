import uuid
from datetime import UTC, datetime

import factory
from django.utils import timezone

from integration.models import InboxEntry, OutboxMessage


def catalog_sync_payload(*, external_id: str = "course-101", price="199.00", **overrides) -> dict:
    """A valid spec 6.1.2 CatalogSyncRequest, as the LMS would send it."""
    payload = {
        "source": "lms",
        "idempotencyKey": f"catalog-sync-{uuid.uuid4()}",
        "products": [{
            "action": "upsert",
            "externalId": external_id,
            "type": "course",
            "name": "Intro to Accounting",
            "description": "Debits on the left.",
            "suggestedPrice": price,
            "currency": "USD",
            "metadata": {"departmentId": "dept-1", "durationWeeks": 6, "level": "beginner"},
        }],
    }
    payload.update(overrides)
    return payload


def revenue_event_payload(**overrides) -> dict:
    """The DESIGN.md worked example: $199.00 sale, $6.07 fee, net $192.93 split 30/40/30."""
    payload = {
        "source": "lms",
        "idempotencyKey": f"rev-{uuid.uuid4()}",
        "events": [{
            "eventId": f"evt-{uuid.uuid4()}",
            "type": "course_sale",
            "orderId": "order-1",
            "productExternalId": "course-101",
            "totalAmount": "192.93",
            "grossAmount": "199.00",
            "processorFee": "6.07",
            "currency": "USD",
            "splits": [
                {"payeeUserId": "platform", "amount": "57.88", "reason": "platform_fee"},
                {"payeeUserId": "creator-1", "amount": "77.17", "reason": "creator_share", "hold": True},
                {"payeeUserId": "instructor-1", "amount": "57.88", "reason": "instructor_share", "hold": True},
            ],
            "occurredAt": "2025-01-14T10:00:00Z",
        }],
    }
    payload.update(overrides)
    return payload


class OutboxMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutboxMessage

    topic = "catalog.sync"
    aggregate_key = factory.Sequence(lambda n: f"course:{n}")
    idempotency_key = factory.LazyFunction(lambda: str(uuid.uuid4()))
    payload = factory.LazyAttribute(lambda o: catalog_sync_payload(idempotencyKey=o.idempotency_key))
    status = OutboxMessage.Status.PENDING
    created_at = factory.LazyFunction(timezone.now)
    next_attempt_at = factory.LazyAttribute(lambda o: o.created_at)


class InboxEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InboxEntry

    idempotency_key = factory.LazyFunction(lambda: str(uuid.uuid4()))
    topic = "catalog.sync"
    body_sha256 = "0" * 64
    state = InboxEntry.State.DONE
    response = factory.LazyFunction(lambda: {"success": True})
    status_code = 200
    created_at = factory.LazyFunction(lambda: datetime(2025, 1, 1, tzinfo=UTC))
    completed_at = factory.LazyAttribute(lambda o: o.created_at)
    lease_expires_at = factory.LazyAttribute(lambda o: o.created_at)
