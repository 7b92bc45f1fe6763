import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q


class OutboxMessage(models.Model):
    """A message written in the sender's transaction and delivered after commit, with retries.

    ``id`` is the global send order; ``aggregate_key`` ("order:<id>") orders the
    messages about one thing: none is delivered while an older one for the same
    aggregate is still pending.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        DEAD = "dead"
        # A dead letter a commerce-admin chose not to replay; purged after the retention like a delivered one.
        DISMISSED = "dismissed"

    id = models.BigAutoField(primary_key=True)
    message_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    topic = models.CharField(max_length=64)
    aggregate_key = models.CharField(max_length=255)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    idempotency_key = models.CharField(max_length=255, unique=True)
    request_id = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    leased_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    response = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["pending", "delivered", "dead", "dismissed"]),
                                   name="outbox_status_valid"),
            models.CheckConstraint(condition=~Q(status="delivered") | Q(delivered_at__isnull=False),
                                   name="outbox_delivered_has_time"),
            models.CheckConstraint(condition=~Q(status="dismissed") | Q(dismissed_at__isnull=False),
                                   name="outbox_dismissed_has_time"),
        ]
        indexes = [
            # The sweep: pending messages by next_attempt_at.
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx"),
            # Look-ups by aggregate, and "is an older message of this aggregate still pending?".
            models.Index(fields=["aggregate_key", "status", "id"], name="outbox_aggregate_order_idx"),
            # The retention purge: delivered messages by delivery time.
            models.Index(fields=["status", "delivered_at"], name="outbox_settled_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.id} ({self.status})"


class DeliveryAttempt(models.Model):
    """One attempt, written when it starts (outcome ``started``) and completed when it ends.

    An attempt still ``started`` after its message's lease ran out is one whose worker died mid-call.
    """

    class Outcome(models.TextChoices):
        STARTED = "started"
        SUCCESS = "success"
        RETRY = "retry"
        PERMANENT_FAILURE = "permanent_failure"
        ERROR = "error"

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="delivery_attempts")
    number = models.PositiveIntegerField()
    transport = models.CharField(max_length=8)
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(null=True, blank=True)  # None until the attempt ends
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    response_excerpt = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=["started", "success", "retry", "permanent_failure", "error"]),
                name="delivery_attempt_outcome_valid"),
            models.CheckConstraint(condition=Q(transport__in=["local", "http"]),
                                   name="delivery_attempt_transport_valid"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of message #{self.message_id}: {self.outcome}"


class InboxEntry(models.Model):
    """One received idempotency key: claimed while its handler runs, then the stored answer."""

    class State(models.TextChoices):
        PROCESSING = "processing"
        DONE = "done"

    idempotency_key = models.CharField(max_length=255, unique=True)
    topic = models.CharField(max_length=64)
    body_sha256 = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PROCESSING)
    response = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "inbox entries"
        constraints = [
            models.CheckConstraint(condition=Q(state__in=["processing", "done"]), name="inbox_state_valid"),
            models.CheckConstraint(condition=~Q(state="done") | Q(completed_at__isnull=False),
                                   name="inbox_done_has_time"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.idempotency_key} ({self.state})"


class Heartbeat(models.Model):
    """When a periodic job last ran (the outbox sweep): /readyz and /metrics tell when it stopped."""

    name = models.CharField(max_length=64, primary_key=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
