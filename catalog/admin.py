"""Admin for commerce-admins: products and Commerce's price overrides, bundles, coupons and their uses.

Every change goes through the catalog's services (so prices are logged, bundles
and coupons checked); the fields the LMS owns are read-only here.
"""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.utils import timezone

from catalog.models import (
    Bundle,
    BundleItem,
    Coupon,
    CouponRedemption,
    PriceChange,
    Product,
    ProductStatus,
    ProductType,
    ReconcileRun,
)
from catalog.services.bundles import bundle_create, bundle_items_set
from catalog.services.coupons import coupon_create, coupon_update, coupons_deactivate
from catalog.services.products import product_price_override, products_archive
from integration.admin import ReadOnlyAdmin
from integration.errors import ApplicationError


def _actor(request) -> str:
    return str(request.user.pk)


class ServiceSavedAdmin(admin.ModelAdmin):
    """Admin whose save_model calls a service: a refused save goes back to the form, unlogged."""

    def refuse(self, request, what: str, exc: ApplicationError) -> None:
        request._catalog_refused = True
        self.message_user(request, f"{what} not saved: {exc.message}", messages.ERROR)

    def _refused(self, request) -> bool:
        return getattr(request, "_catalog_refused", False)

    def log_addition(self, request, obj, message):
        return None if self._refused(request) else super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        return None if self._refused(request) else super().log_change(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        return HttpResponseRedirect(request.path) if self._refused(request) else super().response_add(
            request, obj, post_url_continue)

    def response_change(self, request, obj):
        return HttpResponseRedirect(request.path) if self._refused(request) else super().response_change(request, obj)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PriceChangeInline(ReadOnlyInline):
    model = PriceChange
    fields = readonly_fields = ("created_at", "old_price", "new_price", "override", "actor", "reason")
    ordering = ("-created_at",)


class ProductPriceForm(forms.ModelForm):
    price_override = forms.DecimalField(required=False, min_value=0, max_digits=19, decimal_places=4,
                                        help_text="Commerce's price. Empty: sell at the LMS's suggested price. "
                                                  "Syncs never change it.")
    override_reason = forms.CharField(required=False, max_length=1000, label="Reason for the price change")

    class Meta:
        model = Product
        fields = ["price_override"]


class OverriddenFilter(admin.SimpleListFilter):
    title = "price"
    parameter_name = "overridden"

    def lookups(self, request, model_admin):
        return [("yes", "Overridden by Commerce"), ("no", "LMS's suggested price")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(price_override__isnull=False)
        if self.value() == "no":
            return queryset.filter(price_override__isnull=True)
        return queryset


@admin.register(Product)
class ProductAdmin(ServiceSavedAdmin):
    form = ProductPriceForm
    list_display = ("name", "type", "external_id", "price", "suggested_price", "currency", "status",
                    "is_overridden", "updated_at")
    list_filter = ("status", "type", "external_source", OverriddenFilter, "currency")
    search_fields = ("name", "external_id", "=id", "department_id")
    ordering = ("-created_at",)
    readonly_fields = ("id", "external_source", "external_id", "type", "name", "description", "suggested_price",
                       "price", "currency", "status", "metadata", "department_id", "price_overridden_by",
                       "price_overridden_at", "source_updated_at", "created_at", "updated_at")
    fieldsets = [
        (None, {"fields": ("name", "type", "status", "external_source", "external_id", "id")}),
        ("Price (Commerce decides)", {"fields": ("suggested_price", "price", "currency", "price_override",
                                                 "override_reason", "price_overridden_by",
                                                 "price_overridden_at")}),
        ("From the LMS", {"fields": ("description", "department_id", "metadata", "source_updated_at",
                                     "created_at", "updated_at")}),
    ]
    inlines = [PriceChangeInline]
    actions = ["clear_price_override", "archive"]

    def has_add_permission(self, request):
        return False  # products come from the LMS; bundles have their own page

    def has_delete_permission(self, request, obj=None):
        return False  # orders refer to products by id; archive instead

    @admin.display(boolean=True, description="override")
    def is_overridden(self, product) -> bool:
        return product.price_override is not None

    def save_model(self, request, obj, form, change):
        if "price_override" not in form.changed_data:
            return
        try:
            product_price_override(product_id=obj.pk, price=form.cleaned_data["price_override"],
                                   actor=_actor(request), reason=form.cleaned_data.get("override_reason") or "",
                                   now=timezone.now())
        except ApplicationError as exc:
            self.refuse(request, "Price", exc)

    @admin.action(description="Go back to the LMS's suggested price")
    def clear_price_override(self, request, queryset):
        changed = 0
        for product in queryset.filter(price_override__isnull=False):
            product_price_override(product_id=product.pk, price=None, actor=_actor(request),
                                   reason="override removed in the admin", now=timezone.now())
            changed += 1
        self.message_user(request, f"{changed} products back at their suggested price.")

    @admin.action(description="Archive (take off sale)")
    def archive(self, request, queryset):
        count = products_archive(product_ids=queryset.values_list("pk", flat=True), now=timezone.now())
        self.message_user(request, f"{count} products archived.")


class BundleItemInline(ReadOnlyInline):
    model = BundleItem
    fk_name = "bundle"
    fields = readonly_fields = ("position", "product", "item_price")
    ordering = ("position",)

    @admin.display(description="item price")
    def item_price(self, item) -> str:
        return f"{item.product.price} {item.product.currency}"


class BundleForm(forms.ModelForm):
    slug = forms.SlugField(required=False, help_text="For a new bundle: its permanent identifier.")
    bundle_price = forms.DecimalField(min_value=0, max_digits=19, decimal_places=4, label="Price")
    products = forms.ModelMultipleChoiceField(
        queryset=Product.objects.filter(status=ProductStatus.ACTIVE).exclude(type=ProductType.BUNDLE),
        help_text="At least two, in one currency. Revenue is split over them by their prices.")

    class Meta:
        model = Bundle
        fields = ["name", "description", "currency"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            self.fields["bundle_price"].initial = self.instance.price
            self.fields["products"].initial = [item.product_id for item in self.instance.bundle_items.all()]
            self.fields["currency"].disabled = True


@admin.register(Bundle)
class BundleAdmin(ServiceSavedAdmin):
    form = BundleForm
    list_display = ("name", "price", "currency", "status", "item_count", "updated_at")
    list_filter = ("status", "currency")
    search_fields = ("name", "external_id", "=id")
    inlines = [BundleItemInline]
    actions = ["archive"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(type=ProductType.BUNDLE).prefetch_related("bundle_items")

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="items")
    def item_count(self, bundle) -> int:
        return len(bundle.bundle_items.all())

    def save_model(self, request, obj, form, change):
        data, now = form.cleaned_data, timezone.now()
        product_ids = [product.pk for product in sorted(data["products"], key=lambda p: (p.name, str(p.pk)))]
        try:
            if change:
                bundle_items_set(bundle_id=obj.pk, product_ids=product_ids, now=now)
                if data["bundle_price"] != obj.price:
                    product_price_override(product_id=obj.pk, price=data["bundle_price"], actor=_actor(request),
                                           reason="bundle price set in the admin", now=now)
            else:
                created = bundle_create(slug=data.get("slug") or "", name=data["name"],
                                        description=data.get("description") or "", price=data["bundle_price"],
                                        currency=data["currency"], product_ids=product_ids, now=now)
                obj.pk = created.pk
        except ApplicationError as exc:
            self.refuse(request, "Bundle", exc)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    @admin.action(description="Archive (take off sale)")
    def archive(self, request, queryset):
        count = products_archive(product_ids=queryset.values_list("pk", flat=True), now=timezone.now())
        self.message_user(request, f"{count} bundles archived.")


class CouponForm(forms.ModelForm):
    class Meta:
        model = Coupon
        fields = ["code", "description", "kind", "percent_off", "amount_off", "currency", "scope", "products",
                  "valid_from", "valid_until", "max_redemptions", "max_per_user", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            for name in ("code", "kind", "percent_off", "amount_off", "currency", "scope", "products"):
                self.fields[name].disabled = True


class RedemptionInline(ReadOnlyInline):
    model = CouponRedemption
    fields = readonly_fields = ("order_id", "user_id", "discount", "currency", "status", "redeemed_at",
                                "released_at")
    ordering = ("-redeemed_at",)


@admin.register(Coupon)
class CouponAdmin(ServiceSavedAdmin):
    form = CouponForm
    list_display = ("code", "kind", "value", "scope", "valid_from", "valid_until", "times_redeemed",
                    "max_redemptions", "max_per_user", "is_active")
    list_filter = ("is_active", "kind", "scope", ("valid_until", admin.DateFieldListFilter))
    search_fields = ("code", "description")
    readonly_fields = ("times_redeemed", "created_at", "updated_at")
    inlines = [RedemptionInline]
    actions = ["deactivate"]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="value")
    def value(self, coupon) -> str:
        return f"{coupon.percent_off.normalize()}%" if coupon.kind == "percent" else f"{coupon.amount_off} {coupon.currency}"

    def save_model(self, request, obj, form, change):
        data, now = form.cleaned_data, timezone.now()
        try:
            if change:
                coupon_update(coupon_id=obj.pk, now=now, is_active=data["is_active"], description=data["description"],
                              valid_from=data["valid_from"], valid_until=data["valid_until"],
                              max_redemptions=data["max_redemptions"], max_per_user=data["max_per_user"])
            else:
                created = coupon_create(
                    code=data["code"], kind=data["kind"], percent_off=data["percent_off"],
                    amount_off=data["amount_off"], currency=data["currency"], scope=data["scope"],
                    product_ids=[p.pk for p in data["products"]], valid_from=data["valid_from"],
                    valid_until=data["valid_until"], max_redemptions=data["max_redemptions"],
                    max_per_user=data["max_per_user"], description=data["description"], now=now)
                obj.pk = created.pk
        except ApplicationError as exc:
            self.refuse(request, "Coupon", exc)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    @admin.action(description="Deactivate")
    def deactivate(self, request, queryset):
        count = coupons_deactivate(coupon_ids=list(queryset.values_list("pk", flat=True)), now=timezone.now())
        self.message_user(request, f"{count} coupons deactivated.")


@admin.register(CouponRedemption)
class CouponRedemptionAdmin(ReadOnlyAdmin):
    list_display = ("coupon", "order_id", "user_id", "discount", "currency", "status", "redeemed_at")
    list_filter = ("status", "currency")
    search_fields = ("coupon__code", "order_id", "user_id")
    list_select_related = ("coupon",)
    date_hierarchy = "redeemed_at"


@admin.register(ReconcileRun)
class ReconcileRunAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "full", "updated_since", "checked", "fixed", "failed", "error")
    list_filter = ("full",)
    search_fields = ("error",)
    date_hierarchy = "started_at"


@admin.register(PriceChange)
class PriceChangeAdmin(ReadOnlyAdmin):
    """Every price change of every product, the audit trail of who changed which price and why (a product's
    own page shows its history inline)."""

    list_display = ("created_at", "product", "old_price", "new_price", "override", "actor", "reason")
    list_filter = (("override", admin.EmptyFieldListFilter), "product__type")
    search_fields = ("product__name", "product__external_id", "=product__id", "actor", "reason")
    list_select_related = ("product",)
    date_hierarchy = "created_at"
    ordering = ("-created_at",)

