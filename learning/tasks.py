"""Periodic LMS jobs: expiry of enrollments and the reminder a week before."""

from celery import shared_task
from django.utils import timezone

from learning.services.enrollments import enrollment_expiry_reminders_send, enrollments_expire


@shared_task(name="learning.tasks.enrollments_expire")
def enrollments_expire_task() -> dict:
    now = timezone.now()
    return {"reminded": enrollment_expiry_reminders_send(now=now), "expired": enrollments_expire(now=now)}
