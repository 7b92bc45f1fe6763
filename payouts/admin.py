"""Commerce-admins over the ledger (read-only), balances, payouts and holds; every action is a service call."""

from django.contrib import admin, messages
from django.utils import timezone

from integration.admin import ReadOnlyAdmin
from integration.errors import ApplicationError
from payouts.models import (
    LedgerPosting,
    Payout,
    PayoutAccount,
    PayoutBalance,
    PayoutHold,
    PayoutSchedule,
    PendingAmount,
    RevenueLedgerEntry,
    RevenueRelease,
    TaxInfo,
)
from payouts.services.payouts import (
    payout_hold_place,
    payout_hold_release,
    payout_mark_failed,
    payout_mark_paid,
    payout_send,
)


class EntryInline(admin.TabularInline):
    model = RevenueLedgerEntry
    fields = ["type", "account", "payee_user_id", "amount", "currency", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LedgerPosting)
class LedgerPostingAdmin(ReadOnlyAdmin):
    list_display = ["key", "kind", "event_type", "order_id", "product_id", "currency", "occurred_at", "created_at"]
    list_filter = ["kind", "currency", "event_type"]
    search_fields = ["key", "event_id", "order_id", "product_id", "original_event_id"]
    date_hierarchy = "created_at"
    inlines = [EntryInline]
    show_full_result_count = False


@admin.register(RevenueLedgerEntry)
class RevenueLedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "posting_kind", "type", "account", "payee_user_id", "amount", "currency",
                    "reason", "event_id", "order_id"]
    list_filter = ["account", "type", "currency", "posting__kind", "reason"]
    search_fields = ["=payee_user_id", "=event_id", "=order_id", "product_id"]
    list_select_related = ["posting"]
    show_full_result_count = False
    date_hierarchy = "created_at"

    @admin.display(description="kind", ordering="posting__kind")
    def posting_kind(self, entry):
        return entry.posting.kind


def _actor(request) -> str:
    return getattr(request.user, "email", "") or str(request.user.pk)


@admin.register(PayoutBalance)
class PayoutBalanceAdmin(ReadOnlyAdmin):
    list_display = ["payee_user_id", "currency", "available", "pending", "held", "last_updated_at"]
    list_filter = ["currency"]
    search_fields = ["=payee_user_id"]
    actions = ["hold_payouts", "lift_hold"]

    @admin.action(description="Hold payouts of the selected payees")
    def hold_payouts(self, request, queryset):
        now = timezone.now()
        for payee in set(queryset.values_list("payee_user_id", flat=True)):
            payout_hold_place(payee_user_id=payee, reason="held from the balances list", actor=_actor(request),
                              now=now)
        self.message_user(request, "Payouts held; the balances keep accruing.")

    @admin.action(description="Lift the hold on the selected payees")
    def lift_hold(self, request, queryset):
        lifted = 0
        for payee in set(queryset.values_list("payee_user_id", flat=True)):
            try:
                payout_hold_release(payee_user_id=payee, actor=_actor(request), now=timezone.now())
                lifted += 1
            except ApplicationError:
                continue
        self.message_user(request, f"{lifted} hold(s) lifted.")


@admin.register(PayoutHold)
class PayoutHoldAdmin(admin.ModelAdmin):
    list_display = ["payee_user_id", "reason", "created_by", "created_at", "released_at", "released_by"]
    list_filter = [("released_at", admin.EmptyFieldListFilter)]
    search_fields = ["=payee_user_id", "reason", "created_by"]
    fields = ["payee_user_id", "reason"]
    date_hierarchy = "created_at"
    actions = ["release_holds"]

    def has_change_permission(self, request, obj=None):
        return False  # a hold is lifted by the action, never edited

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        hold = payout_hold_place(payee_user_id=obj.payee_user_id, reason=obj.reason, actor=_actor(request),
                                 now=timezone.now())
        obj.pk = hold.pk

    @admin.action(description="Lift the selected holds")
    def release_holds(self, request, queryset):
        for payee in set(queryset.filter(released_at__isnull=True).values_list("payee_user_id", flat=True)):
            payout_hold_release(payee_user_id=payee, actor=_actor(request), now=timezone.now())
        self.message_user(request, "Holds lifted; the next payout run pays these payees.")


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = ["id", "payee_user_id", "amount", "currency", "status", "method", "destination", "created_at",
                    "completed_at"]
    list_filter = ["status", "method", "currency"]
    search_fields = ["=id", "=payee_user_id", "transfer_id"]
    date_hierarchy = "created_at"
    actions = ["confirm_paid", "mark_failed", "send_again"]

    @admin.action(description="Confirm the bank transfer was made (manual payouts)")
    def confirm_paid(self, request, queryset):
        self._each(request, queryset, lambda p: payout_mark_paid(payout_id=p.id, transfer_id=p.transfer_id or
                                                                 f"confirmed by {_actor(request)}",
                                                                 now=timezone.now()))

    @admin.action(description="Mark failed and return the money to the payee's available balance")
    def mark_failed(self, request, queryset):
        self._each(request, queryset, lambda p: payout_mark_failed(
            payout_id=p.id, reason=f"marked failed by {_actor(request)}", now=timezone.now()))

    @admin.action(description="Send the transfer again (processing payouts)")
    def send_again(self, request, queryset):
        self._each(request, queryset, lambda p: payout_send(payout_id=p.id, now=timezone.now()))

    def _each(self, request, queryset, call):
        done, refused = 0, []
        for payout in queryset:
            try:
                call(payout)
                done += 1
            except ApplicationError as error:
                refused.append(f"{payout.id}: {error.message}")
        self.message_user(request, f"{done} payout(s) updated.")
        for line in refused:
            self.message_user(request, line, level=messages.WARNING)


@admin.register(PendingAmount)
class PendingAmountAdmin(ReadOnlyAdmin):
    list_display = ["payee_user_id", "amount", "currency", "state", "reason", "product_id", "sold_at", "available_on"]
    list_filter = ["state", "currency", "reason"]
    search_fields = ["=payee_user_id", "=event_id", "=order_id", "product_id"]
    show_full_result_count = False
    date_hierarchy = "sold_at"


@admin.register(RevenueRelease)
class RevenueReleaseAdmin(ReadOnlyAdmin):
    """Each release or forfeit the LMS decided, once per event and payee, with the posting it made."""

    list_display = ["created_at", "action", "payee_user_id", "amount", "currency", "event_id", "posting"]
    list_filter = ["action", "currency"]
    search_fields = ["=payee_user_id", "=event_id"]
    list_select_related = ["posting"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(PayoutSchedule)
class PayoutScheduleAdmin(ReadOnlyAdmin):
    """Payees set their schedule on their payout settings page; shown here to answer "when am I paid?"."""

    list_display = ["payee_user_id", "frequency", "day", "minimum_amount", "updated_at"]
    list_filter = ["frequency"]
    search_fields = ["=payee_user_id"]


@admin.register(PayoutAccount)
class PayoutAccountAdmin(ReadOnlyAdmin):
    list_display = ["payee_user_id", "method", "stripe_account_id", "bank_last4", "updated_at"]
    list_filter = ["method"]
    search_fields = ["=payee_user_id", "stripe_account_id"]
    exclude = ["bank_details_encrypted"]


@admin.register(TaxInfo)
class TaxInfoAdmin(ReadOnlyAdmin):
    list_display = ["payee_user_id", "legal_name", "country", "form", "tax_id_last4", "certified_at"]
    list_filter = ["form", "country"]
    search_fields = ["=payee_user_id", "legal_name"]
    exclude = ["tax_id_encrypted"]
