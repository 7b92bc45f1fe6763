"""Carts, orders and their lines, payments, refunds, taxes, and what the processors and the LMS told us.

Other apps are referenced by plain ids (``user_id`` is identity's user, ``product_id``
catalog's product, ``enrollment_id`` the LMS enrollment), never by ForeignKey.
Every rule about state changes lives in services (``orders/services/``) and the
order state machine (``orders/state.py``); the database guards the invariants.
"""

import uuid

from django.db import models
from django.db.models import F, Q
from django_countries.fields import CountryField

MONEY = {"max_digits": 19, "decimal_places": 4}


class TaxRate(models.Model):
    """The rate charged to buyers in one country; inclusive rates are already part of the price."""

    country = CountryField(unique=True)
    name = models.CharField(max_length=64, help_text="Shown on the receipt, e.g. 'VAT' or 'GST'.")
    rate = models.DecimalField(max_digits=7, decimal_places=6, help_text="0.2 for 20 %.")
    inclusive = models.BooleanField(default=False, help_text="Prices already include this tax.")
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lt=1), name="orders_taxrate_range")]

    def __str__(self) -> str:
        return f"{self.country.code} {self.name} {self.rate * 100:.2f}%{' incl.' if self.inclusive else ''}"


class Cart(models.Model):
    """One per signed-in user and one per anonymous session; merged into the user's at login."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.UUIDField(null=True, blank=True)
    session_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 (NULL: no session, unique otherwise)
    coupon_code = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id"], condition=Q(user_id__isnull=False),
                                    name="orders_cart_one_per_user"),
            models.UniqueConstraint(fields=["session_key"], condition=Q(session_key__isnull=False),
                                    name="orders_cart_one_per_session"),
            models.CheckConstraint(condition=Q(user_id__isnull=False) | Q(session_key__isnull=False),
                                   name="orders_cart_has_owner"),
        ]

    def __str__(self) -> str:
        return f"cart {self.id}"


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    product_id = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField(default=1)
    added_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cart", "product_id"], name="orders_cartitem_once"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orders_cartitem_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} x{self.quantity}"


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Awaiting payment"
    PAID = "paid", "Paid, enrolling"
    COMPLETED = "completed", "Completed"
    PAYMENT_FAILED = "payment_failed", "Payment failed"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    CANCELED = "canceled", "Canceled"


class EntitlementStatus(models.TextChoices):
    PENDING = "pending", "Enrolling"
    GRANTED = "granted", "Enrolled"
    PENDING_APPROVAL = "pending_approval", "Awaiting approval"
    FAILED = "failed", "Enrollment failed"
    REVOKED = "revoked", "Access removed"


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(max_length=20, unique=True, help_text="What the buyer sees, e.g. CL-7F3K2Q9A.")
    user_id = models.UUIDField(db_index=True)
    lms_user_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=24, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(**MONEY)
    discount = models.DecimalField(**MONEY, default=0)
    tax = models.DecimalField(**MONEY, default=0)
    total = models.DecimalField(**MONEY)
    refunded_amount = models.DecimalField(**MONEY, default=0)
    processor_fee = models.DecimalField(**MONEY, default=0)
    coupon_code = models.CharField(max_length=64, blank=True)
    billing_country = CountryField(blank=True)
    tax_name = models.CharField(max_length=64, blank=True)
    tax_rate = models.DecimalField(max_digits=7, decimal_places=6, default=0)
    tax_inclusive = models.BooleanField(default=False)
    gateway = models.CharField(max_length=16)
    transaction_id = models.CharField(max_length=255, blank=True)
    # The cart content this order was made from: a repeated checkout of the same cart answers this order.
    cart_fingerprint = models.CharField(max_length=64, blank=True)
    grants_sent = models.PositiveIntegerField(default=0)
    last_grant_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    anonymised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        permissions = [("refund_order", "Can refund orders"), ("retry_fulfilment", "Can retry fulfilment")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="orders_order_status_known"),
            models.CheckConstraint(condition=Q(subtotal__gte=0) & Q(discount__gte=0) & Q(tax__gte=0)
                                   & Q(total__gte=0) & Q(processor_fee__gte=0), name="orders_order_amounts_positive"),
            models.CheckConstraint(condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("total")),
                                   name="orders_order_refund_within_total"),
            models.CheckConstraint(condition=Q(discount__lte=F("subtotal")), name="orders_order_discount_within"),
        ]
        indexes = [models.Index(fields=["status", "paid_at"], name="orders_order_status_paid")]

    def __str__(self) -> str:
        return self.number

    @property
    def refundable_amount(self):
        return self.total - self.refunded_amount


class OrderLine(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    product_id = models.CharField(max_length=64)
    # A line bought as part of a bundle names the bundle product; its price is the bundle's allocation.
    bundle_product_id = models.CharField(max_length=64, blank=True)
    bundle_name = models.CharField(max_length=255, blank=True)
    product_type = models.CharField(max_length=16)
    external_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    unit_price = models.DecimalField(**MONEY)
    quantity = models.PositiveIntegerField(default=1)
    subtotal = models.DecimalField(**MONEY)
    discount = models.DecimalField(**MONEY, default=0)
    tax = models.DecimalField(**MONEY, default=0)
    total = models.DecimalField(**MONEY)
    processor_fee = models.DecimalField(**MONEY, default=0)
    refunded_amount = models.DecimalField(**MONEY, default=0)
    entitlement_status = models.CharField(max_length=20, choices=EntitlementStatus.choices,
                                          default=EntitlementStatus.PENDING)
    enrollment_id = models.CharField(max_length=64, blank=True)
    entitlement_error = models.CharField(max_length=500, blank=True)
    entitlement_answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="orders_line_position_unique"),
            models.UniqueConstraint(fields=["order", "external_id"], name="orders_line_item_once"),
            models.CheckConstraint(condition=Q(entitlement_status__in=EntitlementStatus.values),
                                   name="orders_line_entitlement_known"),
            models.CheckConstraint(condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("total")),
                                   name="orders_line_refund_within_total"),
            models.CheckConstraint(condition=Q(total__gte=0) & Q(subtotal__gte=0) & Q(discount__lte=F("subtotal")),
                                   name="orders_line_amounts"),
        ]
        indexes = [models.Index(fields=["enrollment_id"], name="orders_line_enrollment")]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"

    @property
    def revenue_amount(self):
        """What the line earns, tax excluded: the price after discount (the tax belongs to the state)."""
        return self.total - self.tax

    @property
    def refundable_amount(self):
        return self.total - self.refunded_amount


class OrderEvent(models.Model):
    """The order's timeline: payment, each grant attempt and answer, refunds, admin actions."""

    class Kind(models.TextChoices):
        CREATED = "created", "Order created"
        PAYMENT = "payment", "Payment"
        ENTITLEMENT = "entitlement", "Enrollment"
        APPROVAL = "approval", "Approval"
        REFUND = "refund", "Refund"
        ADMIN = "admin", "Admin action"
        STATUS = "status", "Status"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    message = models.CharField(max_length=500, help_text="In plain words, as the buyer reads it.")
    actor = models.CharField(max_length=255, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.message


class Payment(models.Model):
    """One attempt to charge an order; the idempotency key is per order and attempt."""

    class Status(models.TextChoices):
        PROCESSING = "processing", "Processing"
        REQUIRES_ACTION = "requires_action", "Needs confirmation"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    attempt = models.PositiveIntegerField()
    gateway = models.CharField(max_length=16)
    idempotency_key = models.CharField(max_length=128, unique=True)
    intent_id = models.CharField(max_length=255, blank=True)
    client_secret = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROCESSING)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    fee = models.DecimalField(**MONEY, default=0)
    transaction_id = models.CharField(max_length=255, blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "attempt"], name="orders_payment_attempt_unique"),
            models.UniqueConstraint(fields=["gateway", "intent_id"], condition=~Q(intent_id=""),
                                    name="orders_payment_intent_unique"),
            models.UniqueConstraint(fields=["order"], condition=Q(status="succeeded"),
                                    name="orders_payment_one_success"),
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.intent_id or self.idempotency_key} ({self.status})"


class Refund(models.Model):
    class Initiator(models.TextChoices):
        BUYER = "buyer", "Buyer"
        ADMIN = "admin", "Commerce admin"
        SYSTEM = "system", "Automatic (enrollment rejected)"
        PROCESSOR = "external", "At the payment processor (e.g. Stripe's dashboard)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=500)
    initiator = models.CharField(max_length=8, choices=Initiator.choices)
    actor = models.CharField(max_length=255)
    gateway_refund_id = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=128, unique=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="orders_refund_positive"),
            # A processor's refund is recorded once, whoever made it (the store, or Stripe's dashboard).
            models.UniqueConstraint(fields=["gateway_refund_id"], condition=~Q(gateway_refund_id=""),
                                    name="orders_refund_gateway_id_once"),
        ]

    def __str__(self) -> str:
        return f"refund {self.amount} {self.currency} of {self.order_id}"


class RefundLine(models.Model):
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="refund_lines")
    amount = models.DecimalField(**MONEY)
    revokes_access = models.BooleanField(default=False)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="orders_refundline_positive")]

    def __str__(self) -> str:
        return f"{self.amount} of line {self.line_id}"


class StripeEvent(models.Model):
    """Each Stripe event id, handled once; what it changed is kept for the admin."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=64)
    intent_id = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class EnrollmentStatusReceipt(models.Model):
    """Each enrollment approval or rejection, kept for good: its domain key is enrollment + event."""

    enrollment_id = models.CharField(max_length=64)
    event = models.CharField(max_length=32)
    order_id = models.CharField(max_length=64)
    order_item_id = models.CharField(max_length=64)
    outcome = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["enrollment_id", "event"],
                                               name="orders_enrollment_status_once")]

    def __str__(self) -> str:
        return f"{self.event} {self.enrollment_id}"


class TestGatewayIntent(models.Model):
    """The built-in test gateway's own record of a charge (what Stripe would keep on its side)."""

    intent_id = models.CharField(max_length=64, unique=True)
    idempotency_key = models.CharField(max_length=128, unique=True)
    payment_method = models.CharField(max_length=64)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20)
    client_secret = models.CharField(max_length=128)
    refunded = models.DecimalField(**MONEY, default=0)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.intent_id} ({self.status})"
