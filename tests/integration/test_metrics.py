"""Prometheus: backlog gauges computed at scrape time, delivery latency, attempts, inbox duplicates."""

import pytest
from prometheus_client import REGISTRY

from integration import metrics, outbox
from tests.integration.factories import OutboxMessageFactory

pytestmark = pytest.mark.django_db


def test_backlog_gauges_count_pending_and_dead_in_one_query_and_read_the_sweep_heartbeat(
        django_assert_num_queries):
    from datetime import timedelta

    from django.utils import timezone

    OutboxMessageFactory.create_batch(2)
    OutboxMessageFactory(status="dead")
    OutboxMessageFactory(status="delivered", delivered_at=OutboxMessageFactory.build().created_at)
    with django_assert_num_queries(2):
        families = {family.name: family for family in metrics.OutboxBacklogCollector().collect()}
    assert families["outbox_pending_messages"].samples[0].value == 2
    assert families["outbox_dead_messages"].samples[0].value == 1
    assert "outbox_sweep_age_seconds" not in families, "no sweep has run yet"
    outbox.heartbeat_record(name=outbox.SWEEP_HEARTBEAT, now=timezone.now() - timedelta(seconds=300))
    families = {family.name: family for family in metrics.OutboxBacklogCollector().collect()}
    assert families["outbox_sweep_age_seconds"].samples[0].value == pytest.approx(300, abs=5)


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
