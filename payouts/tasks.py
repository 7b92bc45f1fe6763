"""Celery entry points of payouts: each makes one service call and is safe to run twice."""

from celery import shared_task
from django.utils import timezone

from payouts.services.clearing import pending_amounts_clear
from payouts.services.payouts import payout_run, payout_send


@shared_task(name="payouts.tasks.clear_pending", ignore_result=True)
def clear_pending() -> int:
    """Pending amounts whose date has come become available (row locks with SKIP LOCKED: parallel-safe)."""
    return pending_amounts_clear(now=timezone.now())


@shared_task(name="payouts.tasks.run_payouts", ignore_result=True)
def run_payouts() -> dict:
    """Pays every payee whose payout day is today (at most once a day each: the run key)."""
    return payout_run(now=timezone.now())


@shared_task(name="payouts.tasks.send_payout", ignore_result=True)
def send_payout(*, payout_id: str) -> str:
    """Sends one payout's transfer (Stripe's idempotency key is the payout id, so a retry never pays twice)."""
    return payout_send(payout_id=payout_id, now=timezone.now()).status
