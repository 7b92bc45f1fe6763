"""Concurrent deliveries on PostgreSQL: the permanent keys and row locks keep one sale and one of each message."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection

from integration.topics import Topic
from revenue.models import RevenueSale
from revenue.services.lifecycle import holds_settle_due, lifecycle_event_record
from tests.revenue.conftest import NOW, activated, messages, releases, revenue_events
from tests.revenue.factories import config_set

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _run(calls):
    def call(args):
        try:
            return lifecycle_event_record(**args).status
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(call, calls))


def test_twenty_concurrent_deliveries_of_one_activation_send_one_sale(people):
    config_set(instructor_email="teach@example.com")
    payload = activated()
    statuses = _run([{"idempotency_key": f"delivery-{n % 3}", "event": "enrollment.activated", "payload": payload,
                      "now": NOW} for n in range(20)])
    assert statuses.count("processed") == 3  # three distinct keys, one sale between them
    assert RevenueSale.objects.count() == 1
    assert len(revenue_events()) == 1


def test_concurrent_different_events_of_one_enrollment_settle_once(people):
    config_set(instructor_email="teach@example.com", release_policy="on_completion")
    payload = activated()
    lifecycle_event_record(idempotency_key="act", event="enrollment.activated", payload=payload, now=NOW)
    later = NOW + timedelta(days=5)
    calls = [{"idempotency_key": f"completed-{n}", "event": "enrollment.completed", "now": later,
              "payload": {**payload, "completedAt": later, "interactionMet": True}} for n in range(6)]
    calls += [{"idempotency_key": f"met-{n}", "event": "enrollment.interaction_met", "now": later,
               "payload": {**payload, "metAt": later}} for n in range(6)]
    _run(calls)
    holds_settle_due(now=later + timedelta(days=400))
    assert sorted(r["action"] for r in releases()) == ["release", "release"]
    assert len(messages(Topic.REVENUE_EVENTS)) == 1
