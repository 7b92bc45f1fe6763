"""Periodic jobs: the entitlement reconciliation (beat runs it every 5 minutes)."""

from celery import shared_task
from django.utils import timezone


@shared_task(name="orders.reconcile_entitlements", acks_late=True)
def reconcile_entitlements() -> dict:
    from orders.services.reconcile import entitlements_reconcile

    report = entitlements_reconcile(now=timezone.now())
    return {"checked": report.checked, "deliveredNow": report.delivered_now, "resent": report.resent}
