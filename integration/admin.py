"""Outbox, delivery attempts and inbox for commerce-admins: read-only records, replay and deliver-now actions."""

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from integration import outbox
from integration.models import DeliveryAttempt, InboxEntry, OutboxMessage


def _pretty(data) -> str:
    return format_html("<pre style='white-space: pre-wrap'>{}</pre>",
                       json.dumps(data, indent=2, sort_keys=True, default=str))


class ReadOnlyAdmin(admin.ModelAdmin):
    """For every app's records that only its services write (ledgers, audit logs, receipts of what was
    handled): listed, searched and filtered in the admin, never added, changed or deleted there."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdminMixin:
    """Records of what happened are never edited by hand; admin actions go through the services."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    readonly_extra: tuple = ()

    def get_readonly_fields(self, request, obj=None):
        hidden = set(self.exclude or ())
        return [field.name for field in self.model._meta.fields if field.name not in hidden] + list(
            self.readonly_extra)


class DeliveryAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    ordering = ("-id",)
    fields = ("number", "transport", "started_at", "duration_ms", "status_code", "outcome", "error",
              "response_excerpt")

    def get_readonly_fields(self, request, obj=None):
        return self.fields


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "topic", "aggregate_key", "status", "attempts", "next_attempt_at", "created_at",
                    "delivered_at", "short_error")
    list_filter = ("status", "topic")
    search_fields = ("topic", "aggregate_key", "idempotency_key", "message_id")
    ordering = ("-id",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [DeliveryAttemptInline]
    readonly_extra = ("payload_pretty", "response_pretty")
    exclude = ("payload", "response")
    actions = ["replay_dead_letters", "dismiss_dead_letters", "deliver_now"]

    @admin.display(description="last error")
    def short_error(self, obj: OutboxMessage) -> str:
        return obj.last_error[:80]

    @admin.display(description="payload")
    def payload_pretty(self, obj: OutboxMessage) -> str:
        return _pretty(obj.payload)

    @admin.display(description="response")
    def response_pretty(self, obj: OutboxMessage) -> str:
        return _pretty(obj.response)

    @admin.action(description="Replay selected dead letters", permissions=["change"])
    def replay_dead_letters(self, request, queryset):
        selected = list(queryset.order_by("id").values_list("message_id", flat=True))
        replayed = outbox.outbox_replay_many(message_ids=selected)
        self.message_user(request, f"Replayed {replayed} dead letter(s); {len(selected) - replayed} "
                                   "were not dead-lettered.", messages.SUCCESS if replayed else messages.WARNING)

    @admin.action(description="Dismiss selected dead letters (purged after the retention)", permissions=["change"])
    def dismiss_dead_letters(self, request, queryset):
        selected = list(queryset.order_by("id").values_list("message_id", flat=True))
        dismissed = outbox.outbox_dismiss_many(message_ids=selected)
        self.message_user(request, f"Dismissed {dismissed} dead letter(s); {len(selected) - dismissed} "
                                   "were not dead-lettered.", messages.SUCCESS if dismissed else messages.WARNING)

    @admin.action(description="Deliver now", permissions=["change"])
    def deliver_now(self, request, queryset):
        outcomes: dict[str, int] = {}
        for message_id in queryset.filter(status=OutboxMessage.Status.PENDING).values_list("message_id", flat=True):
            status = outbox.outbox_deliver_now(message_id=message_id).status
            outcomes[status] = outcomes.get(status, 0) + 1
        summary = ", ".join(f"{count} {status}" for status, count in sorted(outcomes.items())) or "nothing pending"
        self.message_user(request, f"Delivery attempted: {summary}.")


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "message", "number", "transport", "outcome", "status_code", "duration_ms", "started_at")
    list_filter = ("outcome", "transport", "message__topic")
    search_fields = ("message__message_id", "message__aggregate_key", "message__idempotency_key", "error")
    list_select_related = ("message",)
    ordering = ("-id",)
    show_full_result_count = False


@admin.register(InboxEntry)
class InboxEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("idempotency_key", "topic", "state", "status_code", "created_at", "completed_at")
    list_filter = ("state", "topic")
    search_fields = ("idempotency_key", "topic")
    ordering = ("-id",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_extra = ("response_pretty",)
    exclude = ("response",)

    @admin.display(description="response")
    def response_pretty(self, obj: InboxEntry) -> str:
        return _pretty(obj.response)
