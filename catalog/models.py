"""Products (spec 7.1), Commerce's price decisions, bundles and coupons.

Products come from the LMS (``catalog.sync`` and the hourly reconciliation);
Commerce decides the sale price: ``price`` is the suggested price unless a
commerce-admin set ``price_override``, which no sync touches. Other apps hold
product ids (strings), never ForeignKeys.
"""

import uuid

from django.db import models
from django.db.models import F, Q

MONEY = {"max_digits": 19, "decimal_places": 4}


class ProductType(models.TextChoices):
    COURSE = "course", "Course"
    PROGRAM = "program", "Program"
    CLASS = "class", "Class"
    SUBSCRIPTION = "subscription", "Subscription"
    # Additive (DESIGN.md allows new enum values): several products sold at one price.
    BUNDLE = "bundle", "Bundle"


class ExternalSource(models.TextChoices):
    LMS = "lms", "LMS"
    OTHER = "other", "Other"


class ProductStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"


class Product(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    external_id = models.CharField(max_length=255)
    external_source = models.CharField(max_length=16, choices=ExternalSource.choices, default=ExternalSource.LMS)
    type = models.CharField(max_length=16, choices=ProductType.choices)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    suggested_price = models.DecimalField(**MONEY)
    # The sale price: the suggested price, or the override when a commerce-admin set one.
    price = models.DecimalField(**MONEY)
    price_override = models.DecimalField(null=True, blank=True, **MONEY)
    price_overridden_by = models.CharField(max_length=255, blank=True, default="")
    price_overridden_at = models.DateTimeField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=ProductStatus.choices, default=ProductStatus.ACTIVE)
    metadata = models.JSONField(default=dict, blank=True)
    # Copied out of the opaque metadata so the storefront can filter on it with an index.
    department_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    # The LMS's own updatedAt (catalog export), for the reconciliation's drift check.
    source_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["external_source", "external_id"], name="catalog_product_external_unique"),
            models.CheckConstraint(condition=Q(suggested_price__gte=0), name="catalog_product_suggested_price_gte_0"),
            models.CheckConstraint(condition=Q(price__gte=0), name="catalog_product_price_gte_0"),
            models.CheckConstraint(condition=Q(price_override__isnull=True) | Q(price_override__gte=0),
                                   name="catalog_product_override_gte_0"),
            models.CheckConstraint(
                condition=Q(price_override__isnull=True, price=F("suggested_price"))
                | Q(price_override__isnull=False, price=F("price_override")),
                name="catalog_product_price_is_override_or_suggested"),
            models.CheckConstraint(condition=Q(status__in=ProductStatus.values), name="catalog_product_status_valid"),
            models.CheckConstraint(condition=Q(type__in=ProductType.values), name="catalog_product_type_valid"),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at", "-id"], name="catalog_product_listing"),
            models.Index(fields=["type", "status"], name="catalog_product_type_status"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_source}:{self.external_id})"


class PriceChange(models.Model):
    """Append-only history of Commerce's price decisions (override set or removed)."""

    id = models.BigAutoField(primary_key=True)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="price_changes")
    old_price = models.DecimalField(**MONEY)
    new_price = models.DecimalField(**MONEY)
    override = models.DecimalField(null=True, blank=True, **MONEY)
    actor = models.CharField(max_length=255)
    reason = models.CharField(max_length=1000, blank=True, default="")
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.product_id}: {self.old_price} -> {self.new_price}"


class BundleItem(models.Model):
    """One product inside a bundle (a Product of type ``bundle``), in the order revenue is allocated."""

    id = models.BigAutoField(primary_key=True)
    bundle = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="bundle_items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="in_bundles")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bundle", "product"], name="catalog_bundle_item_unique"),
            models.CheckConstraint(condition=~Q(bundle=F("product")), name="catalog_bundle_not_itself"),
        ]

    def __str__(self) -> str:
        return f"{self.bundle_id} / {self.product_id}"


class CouponKind(models.TextChoices):
    PERCENT = "percent", "Percent off"
    AMOUNT = "amount", "Amount off"


class CouponScope(models.TextChoices):
    CART = "cart", "Whole cart"
    PRODUCT = "product", "Chosen products"


class Coupon(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Stored in capitals; codes are matched case-insensitively.
    code = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=255, blank=True, default="")
    kind = models.CharField(max_length=16, choices=CouponKind.choices)
    percent_off = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    amount_off = models.DecimalField(null=True, blank=True, **MONEY)
    currency = models.CharField(max_length=3, blank=True, default="")
    scope = models.CharField(max_length=16, choices=CouponScope.choices, default=CouponScope.CART)
    products = models.ManyToManyField(Product, blank=True, related_name="coupons")
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True, help_text="Total limit; empty: none")
    max_per_user = models.PositiveIntegerField(null=True, blank=True, default=1, help_text="Empty: no limit")
    # Redemptions held now (redeemed, not released); guarded by a conditional UPDATE and the row lock.
    times_redeemed = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="percent", percent_off__gt=0, percent_off__lte=100, amount_off__isnull=True)
                | Q(kind="amount", amount_off__gt=0, percent_off__isnull=True),
                name="catalog_coupon_kind_matches_value"),
            models.CheckConstraint(condition=~Q(kind="amount") | ~Q(currency=""),
                                   name="catalog_coupon_amount_has_currency"),
            models.CheckConstraint(condition=Q(max_redemptions__isnull=True)
                                   | Q(times_redeemed__lte=F("max_redemptions")),
                                   name="catalog_coupon_within_total_limit"),
            models.CheckConstraint(condition=Q(valid_from__isnull=True) | Q(valid_until__isnull=True)
                                   | Q(valid_until__gt=F("valid_from")), name="catalog_coupon_window_ordered"),
        ]

    def __str__(self) -> str:
        return self.code


class RedemptionStatus(models.TextChoices):
    REDEEMED = "redeemed", "Redeemed"
    RELEASED = "released", "Released"


class CouponRedemption(models.Model):
    """A coupon used by one order; released (not deleted) when that order is canceled or fails."""

    id = models.BigAutoField(primary_key=True)
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    user_id = models.CharField(max_length=255, db_index=True)
    order_id = models.CharField(max_length=255)
    discount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=RedemptionStatus.choices, default=RedemptionStatus.REDEEMED)
    redeemed_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["coupon", "order_id"], name="catalog_redemption_once_per_order"),
            models.CheckConstraint(condition=Q(discount__gte=0), name="catalog_redemption_discount_gte_0"),
        ]
        indexes = [models.Index(fields=["coupon", "user_id", "status"], name="catalog_redemption_user")]

    def __str__(self) -> str:
        return f"{self.coupon_id} for order {self.order_id}"


class ReconcileRun(models.Model):
    """One pass of the catalog reconciliation (LMS export → products), for the next incremental pass."""

    id = models.BigAutoField(primary_key=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_since = models.DateTimeField(null=True, blank=True)
    full = models.BooleanField(default=False)
    checked = models.PositiveIntegerField(default=0)
    fixed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return f"catalog reconcile {self.started_at:%Y-%m-%d %H:%M}"


class Bundle(Product):
    """Bundles in the admin: products of type ``bundle`` (no table of their own)."""

    class Meta:
        proxy = True
