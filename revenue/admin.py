"""Read-mostly admin for revenue: configs and their history, the sales and shares sent to Commerce."""

from django.contrib import admin, messages
from django.utils import timezone

from integration.admin import ReadOnlyAdmin
from revenue.models import EnrollmentFacts, RevenueConfig, RevenueSale, RevenueShare, RoleMapping
from revenue.services.lifecycle import enrollment_settle


@admin.register(RevenueConfig)
class RevenueConfigAdmin(ReadOnlyAdmin):
    list_display = ["product_title", "product_type", "external_id", "instructor_bps", "creator_bps", "affiliate_bps",
                    "platform_bps", "basis", "release_policy", "effective_date", "end_date", "superseded_at"]
    list_filter = ["product_type", "basis", "release_policy", "effective_date"]
    date_hierarchy = "effective_date"
    search_fields = ["external_id", "product_title", "instructor_email", "creator_email", "affiliate_email"]


class RevenueShareInline(admin.TabularInline):
    model = RevenueShare
    extra = 0
    can_delete = False
    readonly_fields = ["recipient", "reason", "payee_commerce_user_id", "amount", "refunded_amount", "held", "status",
                       "decided_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.action(description="Settle again (send the refund, releases or forfeits the facts now decide)")
def settle_again(modeladmin, request, queryset):
    sent = sum(enrollment_settle(enrollment_id=sale.enrollment_id, now=timezone.now()) for sale in queryset)
    modeladmin.message_user(request, f"{sent} message(s) sent.", messages.SUCCESS)


@admin.register(RevenueSale)
class RevenueSaleAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "event_type", "product_title", "order_id", "currency", "gross_amount", "total_amount",
                    "release_policy", "state", "occurred_at"]
    list_filter = ["event_type", "state", "release_policy", "basis", "currency"]
    search_fields = ["event_id", "enrollment_id", "order_id", "external_id", "product_title"]
    inlines = [RevenueShareInline]
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    actions = [settle_again]


@admin.register(RevenueShare)
class RevenueShareAdmin(ReadOnlyAdmin):
    list_display = ["sale", "recipient", "payee_commerce_user_id", "amount", "refunded_amount", "status", "decided_at"]
    list_filter = ["status", "recipient", "held"]
    search_fields = ["payee_commerce_user_id", "sale__event_id", "sale__order_id", "sale__product_title"]
    list_select_related = ["sale"]
    show_full_result_count = False


@admin.register(EnrollmentFacts)
class EnrollmentFactsAdmin(ReadOnlyAdmin):
    list_display = ["enrollment_id", "completed_at", "interaction_met_at", "revoked_at", "revoke_reason", "expired_at"]
    list_filter = ["revoke_reason"]
    search_fields = ["enrollment_id"]


@admin.register(RoleMapping)
class RoleMappingAdmin(ReadOnlyAdmin):
    list_display = ["commerce_user_id", "role", "email", "granted", "changes", "updated_at"]
    list_filter = ["role", "granted"]
    search_fields = ["commerce_user_id", "email"]
