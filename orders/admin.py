"""The commerce-admin's view of orders: lines with their entitlement state, timeline, payments, refunds, taxes.

Actions and the refund form call the services; nothing here edits an order directly.
"""

from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from integration.errors import ApplicationError
from orders.models import (
    EnrollmentStatusReceipt,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    Refund,
    RefundLine,
    StripeEvent,
    TaxRate,
)
from orders.services.reconcile import order_fulfilment_retry
from orders.services.refunds import refund_create
from orders.services.taxes import tax_rate_set_active


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["position", "name", "external_id", "bundle_name", "total", "tax", "refunded_amount",
              "entitlement_status", "enrollment_id", "entitlement_error"]
    readonly_fields = fields
    ordering = ["position"]


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ["created_at", "kind", "message", "actor"]
    readonly_fields = fields
    ordering = ["created_at", "id"]
    verbose_name_plural = "timeline"


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["attempt", "gateway", "status", "amount", "fee", "intent_id", "transaction_id", "failure_code",
              "created_at"]
    readonly_fields = fields


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ["created_at", "amount", "initiator", "actor", "reason", "gateway_refund_id"]
    readonly_fields = fields


class RefundForm(forms.Form):
    lines = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                      help_text="None ticked: the amount (or everything left) across all lines.")
    amount = forms.CharField(required=False, help_text="Leave empty to refund what is left on the chosen lines.")
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, order: Order, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lines"].choices = [(str(line.id), f"{line.name} ({line.refundable_amount:.2f} left)")
                                        for line in order.lines.order_by("position") if line.refundable_amount > 0]

    def clean_amount(self):
        value = (self.cleaned_data.get("amount") or "").strip()
        if not value:
            return None
        try:
            return Decimal(value)
        except InvalidOperation:
            raise forms.ValidationError("A decimal amount, e.g. 25.00.") from None


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "status", "total_display", "gateway", "user_id", "created_at", "paid_at", "enrollment"]
    list_filter = ["status", "gateway", "currency", "created_at", "lines__entitlement_status"]
    search_fields = ["number", "=id", "=user_id", "transaction_id", "lines__name", "lines__external_id",
                     "lines__enrollment_id", "coupon_code"]
    date_hierarchy = "created_at"
    inlines = [OrderLineInline, PaymentInline, RefundInline, OrderEventInline]
    actions = ["retry_fulfilment", "refund_in_full"]
    readonly_fields = [field.name for field in Order._meta.fields] + ["refund_link"]
    list_select_related = True

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("lines")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="total")
    def total_display(self, order):
        return f"{order.total:.2f} {order.currency}"

    @admin.display(description="enrollment")
    def enrollment(self, order):
        states = [line.entitlement_status for line in order.lines.all()]
        return ", ".join(sorted(set(states)))

    @admin.display(description="refund")
    def refund_link(self, order):
        if order.pk is None:
            return "-"
        return format_html('<a class="button" href="{}">Refund…</a>', reverse("admin:orders_order_refund", args=[order.pk]))

    @admin.action(description="Retry fulfilment (send the grant to the LMS again)", permissions=["change"])
    def retry_fulfilment(self, request, queryset):
        for order in queryset:
            outcome = order_fulfilment_retry(order_id=order.pk, now=timezone.now(), actor=f"admin:{request.user.pk}")
            self.message_user(request, f"{order.number}: {outcome}.")

    @admin.action(description="Refund in full", permissions=["change"])
    def refund_in_full(self, request, queryset):
        for order in queryset:
            try:
                refund_create(order_id=order.pk, reason="refunded by a commerce admin", initiator=Refund.Initiator.ADMIN,
                              actor=f"admin:{request.user.pk}", now=timezone.now())
            except ApplicationError as exc:
                self.message_user(request, f"{order.number}: {exc.message}", level=messages.ERROR)
            else:
                self.message_user(request, f"{order.number}: refunded.")

    def get_urls(self):
        return [path("<uuid:order_id>/refund/", self.admin_site.admin_view(self.refund_view),
                     name="orders_order_refund"), *super().get_urls()]

    def refund_view(self, request, order_id):
        """Per line or a partial amount, with a reason: one call to ``refund_create``."""
        order = get_object_or_404(Order, pk=order_id)
        if not self.has_change_permission(request, order):
            return redirect("admin:index")
        form = RefundForm(request.POST or None, order=order)
        if request.method == "POST" and form.is_valid():
            try:
                refund_create(order_id=order.pk, reason=form.cleaned_data["reason"], initiator=Refund.Initiator.ADMIN,
                              actor=f"admin:{request.user.pk}", now=timezone.now(),
                              line_ids=form.cleaned_data["lines"] or None, amount=form.cleaned_data["amount"])
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"{order.number}: refund made.")
                return redirect("admin:orders_order_change", order.pk)
        return render(request, "orders/admin_refund.html", {
            **self.admin_site.each_context(request), "order": order, "form": form, "opts": self.model._meta,
            "title": f"Refund order {order.number}"})


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["order", "attempt", "gateway", "status", "amount", "currency", "fee", "intent_id", "created_at"]
    list_filter = ["status", "gateway", "currency", "created_at", "failure_code"]
    search_fields = ["intent_id", "transaction_id", "order__number", "=order__id"]
    readonly_fields = [field.name for field in Payment._meta.fields]
    list_select_related = ["order"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RefundLineInline(ReadOnlyInline):
    model = RefundLine
    fields = ["line", "amount", "revokes_access"]
    readonly_fields = fields


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = ["order", "amount", "currency", "initiator", "actor", "created_at"]
    list_filter = ["initiator", "currency", "created_at"]
    search_fields = ["order__number", "=order__id", "reason", "gateway_refund_id"]
    readonly_fields = [field.name for field in Refund._meta.fields]
    inlines = [RefundLineInline]
    list_select_related = ["order"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    list_display = ["country", "name", "rate", "inclusive", "active", "updated_at"]
    list_filter = ["active", "inclusive", "country"]
    search_fields = ["country", "name"]
    actions = ["activate", "deactivate"]

    @admin.action(description="Activate the selected rates", permissions=["change"])
    def activate(self, request, queryset):
        count = tax_rate_set_active(rate_ids=list(queryset.values_list("pk", flat=True)), active=True)
        self.message_user(request, f"{count} rate(s) active.")

    @admin.action(description="Deactivate the selected rates (no tax charged there)", permissions=["change"])
    def deactivate(self, request, queryset):
        count = tax_rate_set_active(rate_ids=list(queryset.values_list("pk", flat=True)), active=False)
        self.message_user(request, f"{count} rate(s) inactive.")


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "type", "intent_id", "outcome", "received_at"]
    list_filter = ["type", "outcome"]
    search_fields = ["event_id", "intent_id"]
    readonly_fields = [field.name for field in StripeEvent._meta.fields]
    date_hierarchy = "received_at"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the record that an event was handled: deleting it would handle the event again


@admin.register(EnrollmentStatusReceipt)
class EnrollmentStatusReceiptAdmin(admin.ModelAdmin):
    list_display = ["enrollment_id", "event", "order_id", "order_item_id", "outcome", "received_at"]
    list_filter = ["event", "outcome"]
    search_fields = ["enrollment_id", "order_id", "order_item_id"]
    readonly_fields = [field.name for field in EnrollmentStatusReceipt._meta.fields]
    date_hierarchy = "received_at"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the record that a status was applied: deleting it would apply the status again
