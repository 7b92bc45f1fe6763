"""Messages payouts receives: revenue events and releases from the LMS (each one service call)."""

from django.utils import timezone

from integration.contracts.payouts import (
    RevenueEventResult,
    RevenueEvents,
    RevenueEventsAnswer,
    RevenueReleaseResult,
    RevenueReleases,
    RevenueReleasesAnswer,
)
from integration.registry import Delivery
from payouts.services.events import revenue_events_post, revenue_releases_apply


def handle_revenue_events(message: RevenueEvents, *, delivery: Delivery) -> RevenueEventsAnswer:
    """Topic ``revenue.events`` (spec 6.1.3): per event processed, duplicate or failed; 409 while a
    refund's sale is missing (the sender retries)."""
    results = revenue_events_post(events=message.events, now=timezone.now())
    return RevenueEventsAnswer(
        success=all(result.status != "failed" for result in results),
        processed=sum(result.status == "processed" for result in results),
        results=tuple(RevenueEventResult(event_id=r.event_id, status=r.status, error=r.error or None)
                      for r in results))


def handle_revenue_releases(message: RevenueReleases, *, delivery: Delivery) -> RevenueReleasesAnswer:
    """Topic ``revenue.releases``: held shares released to pending or forfeited to the platform."""
    results = revenue_releases_apply(releases=message.releases, now=timezone.now())
    return RevenueReleasesAnswer(
        success=all(result.status != "failed" for result in results),
        processed=sum(result.status in {"released", "forfeited"} for result in results),
        results=tuple(RevenueReleaseResult(event_id=r.event_id, payee_user_id=r.payee_user_id, status=r.status,
                                           error=r.error or None) for r in results))
