"""Messages payouts receives: revenue events and releases from the LMS (each one service call); and, on
Commerce's side as the sender, the LMS's answer to an account erasure."""

from django.utils import timezone

from integration.contracts.identity import Acknowledged, UserErased
from integration.contracts.payouts import (
    RevenueEventResult,
    RevenueEvents,
    RevenueEventsAnswer,
    RevenueReleaseResult,
    RevenueReleases,
    RevenueReleasesAnswer,
)
from integration.registry import Delivery
from payouts.services.erasure import payee_personal_data_erase
from payouts.services.events import revenue_events_post, revenue_releases_apply


def handle_revenue_events(message: RevenueEvents, *, delivery: Delivery) -> RevenueEventsAnswer:
    """Topic ``revenue.events`` (spec 6.1.3): per event processed, duplicate or failed; 409 while a
    refund's sale is missing (the sender retries)."""
    # The delivery (the outbox's, or the inbox's for a message received over HTTP) runs this in its
    # transaction and rolls it back whole on any exception: no savepoint of the service's own.
    results = revenue_events_post(events=message.events, now=timezone.now(), savepoint=False)
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


def user_erased_delivered(message: UserErased, answer: Acknowledged) -> None:
    """Reply handler of ``identity.user_erased`` (identity sends it in the erasure's transaction): once the
    message is delivered, the payee's bank and tax details go too, in the delivery's transaction (idempotent)."""
    payee_personal_data_erase(payee_user_id=message.commerce_user_id, now=timezone.now())
