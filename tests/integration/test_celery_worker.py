"""A real worker on the Redis broker delivers what the outbox enqueues after commit."""

import os
import time
import uuid

import pytest
from django.conf import settings
from django.db import connections, transaction

from integration import outbox
from integration.models import OutboxMessage
from tests.integration.conftest import RecordingHandler, use_handler
from tests.integration.factories import catalog_sync_payload

pytestmark = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="needs a Redis broker: set REDIS_URL (CI uses redis://127.0.0.1:6379/14)")


@pytest.fixture
def redis_worker():
    """A worker thread consuming a queue of its own, with eager mode off for this test only."""
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun

    from config.celery import app

    queue = f"test-outbox-{uuid.uuid4().hex[:8]}"
    saved = {key: app.conf[key] for key in ("task_always_eager", "task_routes")}
    app.conf.task_always_eager = False
    app.conf.task_routes = {"integration.tasks.*": {"queue": queue}}
    app.amqp.flush_routes()
    app.amqp.router = app.amqp.Router()

    def close_worker_connections(**kwargs):
        connections.close_all()

    task_postrun.connect(close_worker_connections, weak=False)
    try:
        with start_worker(app, perform_ping_check=False, queues=[queue], shutdown_timeout=30):
            yield
    finally:
        task_postrun.disconnect(close_worker_connections)
        app.conf.update(saved)
        app.amqp.flush_routes()
        app.amqp.router = app.amqp.Router()


@pytest.mark.django_db(transaction=True)
def test_a_worker_delivers_a_message_sent_after_commit(redis_worker):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    handler = RecordingHandler()
    use_handler("catalog.sync", handler)
    with transaction.atomic():
        message = outbox.outbox_send(topic="catalog.sync", payload=catalog_sync_payload(),
                                     aggregate_key="course:worker")
        assert handler.calls == []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        message.refresh_from_db()
        if message.status == OutboxMessage.Status.DELIVERED:
            break
        time.sleep(0.1)
    assert message.status == OutboxMessage.Status.DELIVERED, message.last_error
    assert len(handler.calls) == 1
