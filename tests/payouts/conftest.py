import itertools
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from integration.contracts import message_of, validate_message
from integration.ports.identity import identity_port
from integration.topics import Topic
from payouts.services.events import revenue_events_post, revenue_releases_apply
from payouts.services.products import product_names_forget
from tests.identity.factories import UserFactory
from tests.orders_paid import orders_paid_fixture

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
_ids = itertools.count(1)
# Orders the tests' events name, as if bought at Commerce: order id -> currency (``sale`` adds its own).
PLACED: dict[str, str] = {}
_orders_paid = orders_paid_fixture(placed=PLACED)


@pytest.fixture(autouse=True)
def known_orders(_orders_paid):
    PLACED.clear()
    yield PLACED
    PLACED.clear()


@pytest.fixture(autouse=True)
def _product_names_asked_afresh():
    product_names_forget()  # the per-process memory of which names were asked must not leak between tests
    yield
    product_names_forget()


@pytest.fixture
def now():
    return NOW


@pytest.fixture
def platform(db):
    return str(identity_port().platform_payee().id)


@pytest.fixture
def instructor(db):
    return str(UserFactory(email="teacher@example.com").pk)


@pytest.fixture
def creator(db):
    return str(UserFactory(email="maker@example.com").pk)


def sale(*, splits, currency="USD", event_id=None, order_id=None, product="course-1", occurred_at=NOW,
         gross=None, fee=None, type="course_sale", original=None, order_paid=True):
    """A wire revenue event; ``splits`` are (payee, amount, reason[, hold]). Its order counts as paid in
    ``currency`` (the first event naming it decides) unless ``order_paid`` is false."""
    event_id = event_id or f"evt-{next(_ids)}-{uuid.uuid4().hex[:6]}"
    if order_paid:
        PLACED.setdefault(order_id or f"order-{event_id}", currency)
    wire_splits = []
    for split in splits:
        payee, amount, reason, *rest = split
        wire_splits.append({"payeeUserId": payee, "amount": str(amount), "reason": reason,
                            **({"hold": True} if rest and rest[0] else {})})
    total = sum((Decimal(str(s[1])) for s in splits), Decimal(0))
    event = {"eventId": event_id, "type": type, "orderId": order_id or f"order-{event_id}",
             "productExternalId": product, "totalAmount": str(total), "currency": currency,
             "splits": wire_splits, "occurredAt": occurred_at.isoformat()}
    if gross is not None:
        event["grossAmount"] = str(gross)
    if fee is not None:
        event["processorFee"] = str(fee)
    if original is not None:
        event["originalEventId"] = original
    return event


def refund_of(event, *, splits, event_id=None, occurred_at=NOW):
    return sale(splits=splits, currency=event["currency"], event_id=event_id, order_id=event["orderId"],
                product=event["productExternalId"], occurred_at=occurred_at, type="refund",
                original=event["eventId"])


def as_events(*events):
    message = message_of(Topic.REVENUE_EVENTS, validate_message(
        Topic.REVENUE_EVENTS, {"source": "lms", "idempotencyKey": uuid.uuid4().hex, "events": list(events)}))
    return message.events


def post(*events, now=NOW):
    return revenue_events_post(events=as_events(*events), now=now)


def release(*items, now=NOW):
    message = message_of(Topic.REVENUE_RELEASES, validate_message(Topic.REVENUE_RELEASES, {
        "idempotencyKey": uuid.uuid4().hex,
        "releases": [{"eventId": e, "payeeUserId": p, "action": a} for e, p, a in items]}))
    return revenue_releases_apply(releases=message.releases, now=now)


def later(days):
    return NOW + timedelta(days=days)
