"""Prometheus metrics of the outbox and inbox, on the default registry that ``/metrics`` exports.

Registered once per process: a re-import (test runners, autoreload) finds the
collectors already there and reuses them instead of failing.
"""

from functools import lru_cache

from django.db.models import Count
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from integration.logging import get_logger

logger = get_logger(__name__)


def _get_or_create(metric_class, name: str, documentation: str, **kwargs):
    existing = REGISTRY._names_to_collectors.get(name)
    if existing is not None:
        return existing
    return metric_class(name, documentation, **kwargs)


delivery_attempts_total = _get_or_create(
    Counter, "outbox_delivery_attempts", "Outbox delivery attempts by outcome.",
    labelnames=["topic", "outcome"])

delivery_seconds = _get_or_create(
    Histogram, "outbox_delivery_seconds", "Seconds from writing an outbox message to its delivery.",
    labelnames=["topic"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, float("inf")))

inbox_duplicates_total = _get_or_create(
    Counter, "inbox_duplicates", "Received messages answered from the inbox (already processed).",
    labelnames=["topic"])


# A labelled child per topic (and outcome), looked up once: ``.labels()`` checks and joins its arguments
# under a lock on every call. The children stay the parents' own (no metric here is ever cleared).
@lru_cache(maxsize=1024)
def attempts_counter(topic: str, outcome: str):
    return delivery_attempts_total.labels(topic=topic, outcome=outcome)


@lru_cache(maxsize=512)
def delivery_seconds_of(topic: str):
    return delivery_seconds.labels(topic=topic)


SWEEP_AGE_HELP = ("Seconds since the last outbox sweep started (beat runs it every 15 s; alert above "
                  "OUTBOX_SWEEP_STALE_SECONDS). Absent until the first sweep.")


class OutboxBacklogCollector(Collector):
    """Pending and dead-lettered messages, counted at scrape time in one aggregate query, and the sweep's age."""

    def describe(self):
        yield GaugeMetricFamily("outbox_pending_messages", "Outbox messages waiting for delivery.")
        yield GaugeMetricFamily("outbox_dead_messages", "Outbox messages in the dead letter list.")
        yield GaugeMetricFamily("outbox_sweep_age_seconds", SWEEP_AGE_HELP)

    def collect(self):
        from integration.models import OutboxMessage
        from integration.outbox import outbox_sweep_age_seconds

        counts = {"pending": 0, "dead": 0}
        try:
            rows = (OutboxMessage.objects.filter(status__in=list(counts))
                    .values("status").annotate(n=Count("id")).order_by())
            counts.update({row["status"]: row["n"] for row in rows})
            sweep_age = outbox_sweep_age_seconds()
        except Exception:
            # A scrape must not fail because the database is away; readyz reports that.
            logger.warning("outbox backlog metrics unavailable", exc_info=True)
            return
        yield GaugeMetricFamily("outbox_pending_messages", "Outbox messages waiting for delivery.",
                                value=counts["pending"])
        yield GaugeMetricFamily("outbox_dead_messages", "Outbox messages in the dead letter list.",
                                value=counts["dead"])
        if sweep_age is not None:
            yield GaugeMetricFamily("outbox_sweep_age_seconds", SWEEP_AGE_HELP, value=sweep_age)


def register_collectors() -> None:
    if "outbox_pending_messages" not in REGISTRY._names_to_collectors:
        REGISTRY.register(OutboxBacklogCollector())
