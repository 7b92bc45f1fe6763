"""Prometheus: backlog gauges computed at scrape time, delivery latency, attempts, inbox duplicates."""

import pytest
from prometheus_client import REGISTRY

from integration import metrics, outbox
from tests.integration.factories import OutboxMessageFactory

pytestmark = pytest.mark.django_db


def test_backlog_gauges_count_pending_and_dead_in_one_query(django_assert_num_queries):
    OutboxMessageFactory.create_batch(2)
    OutboxMessageFactory(status="dead")
    OutboxMessageFactory(status="delivered", delivered_at=OutboxMessageFactory.build().created_at)
    with django_assert_num_queries(1):
        families = {family.name: family for family in metrics.OutboxBacklogCollector().collect()}
    assert families["outbox_pending_messages"].samples[0].value == 2
    assert families["outbox_dead_messages"].samples[0].value == 1


def test_registration_is_idempotent():
    metrics.register_collectors()
    metrics.register_collectors()
    assert REGISTRY.get_sample_value("outbox_pending_messages") is not None


def test_delivery_is_measured_and_exported(client, settings, catalog_handler):
    settings.METRICS_PUBLIC = True
    before = REGISTRY.get_sample_value("outbox_delivery_seconds_count", {"topic": "catalog.sync"}) or 0
    message = OutboxMessageFactory()
    outbox.outbox_deliver(message_id=message.message_id)
    assert REGISTRY.get_sample_value("outbox_delivery_seconds_count", {"topic": "catalog.sync"}) == before + 1
    assert REGISTRY.get_sample_value("outbox_delivery_attempts_total",
                                     {"topic": "catalog.sync", "outcome": "success"}) >= 1
    body = client.get("/metrics").content.decode()
    for name in ("outbox_pending_messages", "outbox_dead_messages", "outbox_delivery_seconds_bucket",
                 "outbox_delivery_attempts_total", "inbox_duplicates_total"):
        assert name in body
