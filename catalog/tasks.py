"""Celery entry points of the catalog app: each makes one service call and is safe to run twice."""

from celery import shared_task
from django.utils import timezone

from catalog.errors import ReconcileUnavailable
from catalog.services.reconcile import catalog_reconcile
from integration.logging import get_logger

logger = get_logger(__name__)


@shared_task(name="catalog.tasks.catalog_reconcile", ignore_result=True)
def catalog_reconcile_task() -> int:
    """Hourly: the LMS export against our products. An LMS that does not answer is retried next hour."""
    try:
        return catalog_reconcile(now=timezone.now()).fixed
    except ReconcileUnavailable as exc:
        logger.warning("catalog reconcile skipped: the LMS export did not answer", reason=exc.details.get("reason"))
        return 0
