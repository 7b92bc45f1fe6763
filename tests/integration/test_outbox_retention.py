"""Outbox retention: delivered messages and their attempts go after OUTBOX_RETENTION_DAYS; dead letters stay."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from integration import outbox
from integration.models import DeliveryAttempt, OutboxMessage
from tests.integration.factories import OutboxMessageFactory

pytestmark = pytest.mark.django_db


def delivered(*, days_ago: float, now) -> OutboxMessage:
    at = now - timedelta(days=days_ago)
    message = OutboxMessageFactory(status="delivered", created_at=at, delivered_at=at, attempts=1)
    DeliveryAttempt.objects.create(message=message, number=1, transport="local", started_at=at, duration_ms=3,
                                   status_code=200, outcome="success")
    return message


def test_the_purge_deletes_old_delivered_messages_with_their_attempts_and_keeps_the_rest(settings):
    settings.OUTBOX_RETENTION_DAYS = 14
    now = timezone.now()
    old = delivered(days_ago=15, now=now)
    recent = delivered(days_ago=13, now=now)
    long_ago = now - timedelta(days=90)
    dead = OutboxMessageFactory(status="dead", created_at=long_ago, attempts=10)
    pending = OutboxMessageFactory(created_at=long_ago, attempts=3)
    assert outbox.outbox_purge(now=now) == 1
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {recent.pk, dead.pk, pending.pk}
    assert not DeliveryAttempt.objects.filter(message_id=old.pk).exists()
    assert DeliveryAttempt.objects.filter(message_id=recent.pk).exists()
    assert outbox.outbox_purge(now=now) == 0


def test_a_dismissed_dead_letter_is_purged_after_the_retention_and_cannot_be_replayed(settings):
    settings.OUTBOX_RETENTION_DAYS = 14
    now = timezone.now()
    dead = OutboxMessageFactory(status="dead", attempts=10)
    dismissed = outbox.outbox_dismiss(message_id=dead.message_id, now=now)
    assert (dismissed.status, dismissed.dismissed_at) == ("dismissed", now)
    with pytest.raises(outbox.OutboxReplayError):
        outbox.outbox_replay(message_id=dead.message_id)
    with pytest.raises(outbox.OutboxDismissError):
        outbox.outbox_dismiss(message_id=dead.message_id)
    assert outbox.outbox_purge(now=now + timedelta(days=13)) == 0
    assert outbox.outbox_purge(now=now + timedelta(days=15)) == 1


def test_the_purge_works_in_batches(settings):
    settings.OUTBOX_RETENTION_DAYS = 1
    now = timezone.now()
    for _ in range(5):
        delivered(days_ago=2, now=now)
    assert outbox.outbox_purge(now=now, batch_size=2) == 5
    assert not OutboxMessage.objects.exists()
    assert not DeliveryAttempt.objects.exists()


def test_the_purge_is_a_periodic_task(settings):
    from integration import tasks

    assert settings.CELERY_BEAT_SCHEDULE["outbox-purge"]["task"] == tasks.outbox_purge.name
    delivered(days_ago=settings.OUTBOX_RETENTION_DAYS + 1, now=timezone.now())
    assert tasks.outbox_purge.apply().get() == 1


def test_the_admin_dismisses_dead_letters(admin_client):
    dead = OutboxMessageFactory(status="dead", attempts=10)
    pending = OutboxMessageFactory()
    response = admin_client.post("/admin/integration/outboxmessage/", {
        "action": "dismiss_dead_letters", "_selected_action": [dead.pk, pending.pk]}, follow=True)
    assert b"Dismissed 1 dead letter(s)" in response.content
    dead.refresh_from_db()
    pending.refresh_from_db()
    assert (dead.status, pending.status) == ("dismissed", "pending")


def test_the_command_purges_and_dismisses(settings):
    from io import StringIO

    settings.OUTBOX_RETENTION_DAYS = 14
    delivered(days_ago=20, now=timezone.now())
    dead = OutboxMessageFactory(status="dead", attempts=10)
    out = StringIO()
    call_command("outbox", "--dismiss", str(dead.id), stdout=out)
    assert f"Dismissed message {dead.id}" in out.getvalue()
    call_command("outbox", "--purge", stdout=out)
    assert "Purged 1 delivered or dismissed message(s) older than 14 days." in out.getvalue()
