"""The admin: dead letters are visible, searchable and replayable; pending ones can be delivered now."""

import pytest

from integration.models import OutboxMessage
from tests.admin_lists import assert_lists_flat
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


def _messages(count: int) -> None:
    from django.utils import timezone

    from integration.models import DeliveryAttempt

    for n in range(count):
        message = OutboxMessageFactory(status="dead" if n % 2 else "pending", last_error="HTTP 422")
        DeliveryAttempt.objects.create(message=message, number=1, transport="local", started_at=timezone.now(),
                                       duration_ms=3, outcome="permanent_failure", error="HTTP 422")
        InboxEntryFactory()


def test_the_outbox_lists_cost_the_same_for_two_rows_as_for_eight(admin_client, django_assert_max_num_queries):
    _messages(2)
    assert_lists_flat(admin_client, [f"/admin/integration/{name}/" for name in ("outboxmessage", "deliveryattempt",
                                                                                  "inboxentry")],
                      more=lambda: _messages(6), max_queries=django_assert_max_num_queries)


def test_dead_letters_are_found_by_status_and_date_and_never_deleted(admin_client):

    _messages(2)
    dead = OutboxMessage.objects.filter(status="dead").get()
    page = admin_client.get("/admin/integration/outboxmessage/", {"status__exact": "dead"})
    assert f"/admin/integration/outboxmessage/{dead.pk}/change/" in page.content.decode()
    pending = OutboxMessage.objects.filter(status="pending").get()
    assert f"/admin/integration/outboxmessage/{pending.pk}/change/" not in page.content.decode()
    assert b'class="toplinks"' in page.content  # the date drill-down
    assert admin_client.get(f"/admin/integration/outboxmessage/{dead.pk}/delete/").status_code == 403
