"""One message, two adapters: in process and over real HTTP to a live server; the handler sees the same."""

import pytest
from django.db import transaction

from integration import outbox
from integration.models import OutboxMessage
from tests.integration.conftest import RecordingHandler, use_handler
from tests.integration.factories import catalog_sync_payload


@pytest.mark.django_db(transaction=True)
def test_local_and_http_adapters_hand_the_handler_the_same_payload(live_server, settings):
    handler = RecordingHandler()
    use_handler("catalog.sync", handler)
    payload = catalog_sync_payload()

    with transaction.atomic():
        local = outbox.outbox_send(topic="catalog.sync", payload={**payload, "idempotencyKey": "rt-local"},
                                   aggregate_key="course:local")
    settings.INTEGRATION_FORCE_HTTP = True
    settings.COMMERCE_BASE_URL = live_server.url
    with transaction.atomic():
        remote = outbox.outbox_send(topic="catalog.sync", payload={**payload, "idempotencyKey": "rt-http"},
                                    aggregate_key="course:http")

    local.refresh_from_db()
    remote.refresh_from_db()
    assert (local.status, remote.status) == ("delivered", "delivered"), (local.last_error, remote.last_error)
    assert local.delivery_attempts.get().transport == "local"
    assert remote.delivery_attempts.get().transport == "http"
    (local_payload, local_delivery), (http_payload, http_delivery) = handler.calls
    assert {**local_payload, "idempotencyKey": None} == {**http_payload, "idempotencyKey": None}
    assert (local_delivery.transport, http_delivery.transport) == ("local", "http")
    assert local_delivery.source_service == http_delivery.source_service == "lms"
    assert http_delivery.request_id == remote.request_id, "X-Request-Id travels with the message"
    assert local.response == remote.response
    assert OutboxMessage.objects.filter(status="delivered").count() == 2
