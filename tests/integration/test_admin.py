"""The admin: dead letters are visible, searchable and replayable; pending ones can be delivered now."""

import pytest

from integration.models import OutboxMessage
from tests.integration.conftest import RecordingHandler, use_handler
from tests.integration.factories import InboxEntryFactory, OutboxMessageFactory

pytestmark = pytest.mark.django_db


def test_changelists_and_detail_pages_render(admin_client):
    message = OutboxMessageFactory(status="dead", aggregate_key="order:77", last_error="HTTP 422")
    InboxEntryFactory()
    response = admin_client.get("/admin/integration/outboxmessage/", {"q": "order:77", "status__exact": "dead"})
    assert response.status_code == 200
    assert b"order:77" in response.content
    assert admin_client.get(f"/admin/integration/outboxmessage/{message.pk}/change/").status_code == 200
    assert admin_client.get("/admin/integration/inboxentry/").status_code == 200
    assert admin_client.get("/admin/integration/deliveryattempt/").status_code == 200
    assert admin_client.get("/admin/integration/outboxmessage/add/").status_code == 403


def test_replay_action(admin_client, django_capture_on_commit_callbacks):
    use_handler("catalog.sync", RecordingHandler())
    dead = OutboxMessageFactory(status="dead", attempts=10)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/integration/outboxmessage/", {
            "action": "replay_dead_letters", "_selected_action": [dead.pk]}, follow=True)
    assert b"Replayed 1 dead letter(s)" in response.content
    dead.refresh_from_db()
    assert dead.status == OutboxMessage.Status.DELIVERED


def test_deliver_now_action(admin_client):
    use_handler("catalog.sync", RecordingHandler())
    pending = OutboxMessageFactory()
    response = admin_client.post("/admin/integration/outboxmessage/", {
        "action": "deliver_now", "_selected_action": [pending.pk]}, follow=True)
    assert b"Delivery attempted: 1 delivered." in response.content
    pending.refresh_from_db()
    assert pending.status == OutboxMessage.Status.DELIVERED
