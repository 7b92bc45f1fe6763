"""Periodic revenue job: forfeits of held shares once an ended enrollment's grace period is over."""

from celery import shared_task
from django.utils import timezone

from revenue.services.lifecycle import holds_settle_due


@shared_task(name="revenue.tasks.holds_settle_due")
def holds_settle_due_task() -> dict:
    return {"messages": holds_settle_due(now=timezone.now())}
