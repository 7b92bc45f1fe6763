import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from integration.models import OutboxMessage
from integration.topics import Topic
from tests.identity.factories import UserFactory

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def people(db):
    """Commerce accounts of an instructor, a creator and an affiliate; the platform payee is identity's own."""
    return {"instructor": UserFactory(email="teach@example.com"), "creator": UserFactory(email="make@example.com"),
            "affiliate": UserFactory(email="refer@example.com"), "other": UserFactory(email="other@example.com")}


def messages(topic: str) -> list[dict]:
    return [m.payload for m in OutboxMessage.objects.filter(topic=topic).order_by("id")]


def revenue_events() -> list[dict]:
    return [event for message in messages(Topic.REVENUE_EVENTS) for event in message["events"]]


def releases() -> list[dict]:
    return [release for message in messages(Topic.REVENUE_RELEASES) for release in message["releases"]]


def activated(*, enrollment_id: str | None = None, course_id: str = "course-1", amount: str = "199.00",
              fee: str | None = "6.07", currency: str = "USD", source: str = "commerce",
              activated_at: datetime = NOW, instructor: str | None = None, product_type: str = "course",
              program_id: str | None = None) -> dict:
    payload = {"enrollmentId": enrollment_id or str(uuid.uuid4()), "lmsUserId": str(uuid.uuid4()),
               "commerceUserId": str(uuid.uuid4()), "productType": product_type,
               "externalId": program_id or course_id, "source": source, "orderId": "ord-" + uuid.uuid4().hex[:8],
               "orderItemId": "oi-1", "amount": Decimal(amount), "grossAmount": Decimal(amount),
               "currency": currency, "activatedAt": activated_at}
    if product_type == "program":
        payload["programId"] = program_id
    else:
        payload["courseId"] = course_id
    if fee is not None:
        payload["processorFee"] = Decimal(fee)
    if instructor:
        payload["instructorCommerceUserId"] = instructor
    return payload


def on(day: str) -> date:
    return date.fromisoformat(day)
