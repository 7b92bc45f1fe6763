"""Revenue configs (per course and per program, with history) and the record of every split sent to Commerce.

Shares are stored as whole basis points (1 = 0.0001) so that the database can
check, exactly and on SQLite as on PostgreSQL, that the four shares of a config
sum to 1; the API and the pages speak decimals ("0.30").

Other apps' objects are named by their wire ids only (``external_id`` is the LMS
course or program id that Commerce calls ``productExternalId``; payees are
Commerce user ids), never by ForeignKeys.
"""

import uuid
from decimal import Decimal

from django.db import models
from django.db.models import F, Q

BASIS_POINTS = 10_000
SHARE_UNIT = Decimal("0.0001")


class ProductType(models.TextChoices):
    COURSE = "course", "Course"
    PROGRAM = "program", "Program"


class Basis(models.TextChoices):
    GROSS = "gross", "Gross (amount paid)"
    NET = "net", "Net (after the processor's fee)"


class ReleasePolicy(models.TextChoices):
    ON_SALE = "on_sale", "On sale (after the clearing period)"
    ON_COMPLETION = "on_completion", "On completion (creator and instructor shares held)"


class Recipient(models.TextChoices):
    INSTRUCTOR = "instructor", "Instructor"
    CREATOR = "creator", "Content creator"
    AFFILIATE = "affiliate", "Affiliate"
    PLATFORM = "platform", "Platform"


def _bps_field(help_text: str) -> models.PositiveIntegerField:
    return models.PositiveIntegerField(default=0, help_text=help_text + " In basis points (10000 = the whole amount).")


class RevenueConfig(models.Model):
    """One version of a course's or program's revenue split, in force from ``effective_date`` to ``end_date``.

    The versions of one product that are not superseded form a timeline without gaps or overlaps:
    each one's ``end_date`` is the next one's ``effective_date`` (the last one is open-ended).
    A version replaced by another with the same ``effective_date`` is kept, marked ``superseded_at``.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    product_type = models.CharField(max_length=16, choices=ProductType.choices)
    external_id = models.CharField(max_length=255, help_text="The LMS course or program id (productExternalId).")
    product_title = models.CharField(max_length=255, blank=True)

    instructor_email = models.EmailField(blank=True)
    instructor_commerce_user_id = models.CharField(
        max_length=64, blank=True,
        help_text="Empty: the instructor assigned to each enrollment is paid (instructorCommerceUserId).")
    instructor_bps = _bps_field("The instructor's share.")
    creator_email = models.EmailField(blank=True)
    creator_commerce_user_id = models.CharField(max_length=64, blank=True)
    creator_bps = _bps_field("The content creator's share.")
    affiliate_email = models.EmailField(blank=True)
    affiliate_commerce_user_id = models.CharField(max_length=64, blank=True)
    affiliate_bps = _bps_field("The affiliate's share.")
    platform_commerce_user_id = models.CharField(max_length=64)
    platform_bps = _bps_field("The platform's share; it also receives every rounding remainder.")

    basis = models.CharField(max_length=8, choices=Basis.choices, default=Basis.NET)
    release_policy = models.CharField(max_length=16, choices=ReleasePolicy.choices, default=ReleasePolicy.ON_SALE)
    effective_date = models.DateField()
    end_date = models.DateField(null=True, blank=True, help_text="Exclusive; empty while it is the latest version.")
    superseded_at = models.DateTimeField(null=True, blank=True)

    changed_by_lms_user_id = models.CharField(max_length=64, blank=True)
    changed_by_email = models.EmailField(blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(instructor_bps__lte=BASIS_POINTS) & Q(creator_bps__lte=BASIS_POINTS)
                & Q(affiliate_bps__lte=BASIS_POINTS) & Q(platform_bps__lte=BASIS_POINTS),
                name="revenue_config_share_at_most_one"),
            models.CheckConstraint(
                condition=Q(instructor_bps__gte=0) & Q(creator_bps__gte=0) & Q(affiliate_bps__gte=0)
                & Q(platform_bps__gte=0),
                name="revenue_config_share_not_negative"),
            models.CheckConstraint(
                condition=Q(platform_bps=BASIS_POINTS - F("instructor_bps") - F("creator_bps") - F("affiliate_bps")),
                name="revenue_config_shares_sum_to_one"),
            models.CheckConstraint(condition=Q(end_date__isnull=True) | Q(end_date__gt=F("effective_date")),
                                   name="revenue_config_end_after_start"),
            models.CheckConstraint(condition=Q(product_type__in=ProductType.values),
                                   name="revenue_config_product_type_valid"),
            models.CheckConstraint(condition=Q(basis__in=Basis.values), name="revenue_config_basis_valid"),
            models.CheckConstraint(condition=Q(release_policy__in=ReleasePolicy.values),
                                   name="revenue_config_release_policy_valid"),
            models.CheckConstraint(condition=Q(creator_bps=0) | ~Q(creator_commerce_user_id=""),
                                   name="revenue_config_creator_share_has_payee"),
            models.CheckConstraint(condition=Q(affiliate_bps=0) | ~Q(affiliate_commerce_user_id=""),
                                   name="revenue_config_affiliate_share_has_payee"),
            models.CheckConstraint(condition=~Q(platform_commerce_user_id=""),
                                   name="revenue_config_platform_payee_set"),
            models.UniqueConstraint(fields=["product_type", "external_id", "effective_date"],
                                    condition=Q(superseded_at__isnull=True),
                                    name="revenue_config_one_version_per_date"),
        ]
        indexes = [models.Index(fields=["product_type", "external_id", "effective_date"],
                                name="revenue_config_timeline")]

    def __str__(self) -> str:
        return f"{self.product_type} {self.external_id} from {self.effective_date}"

    @staticmethod
    def share(bps: int) -> Decimal:
        return (Decimal(bps) / BASIS_POINTS).quantize(SHARE_UNIT)

    @property
    def instructor_split(self) -> Decimal:
        return self.share(self.instructor_bps)

    @property
    def creator_split(self) -> Decimal:
        return self.share(self.creator_bps)

    @property
    def affiliate_split(self) -> Decimal:
        return self.share(self.affiliate_bps)

    @property
    def platform_split(self) -> Decimal:
        return self.share(self.platform_bps)


class SaleState(models.TextChoices):
    ACTIVE = "active", "Active"
    REFUNDED = "refunded", "Refunded"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


class RevenueSale(models.Model):
    """One sale event sent to Commerce: an enrollment that became active through a purchase.

    ``enrollment_id`` and ``event_id`` are permanent keys: a repeated or late
    ``enrollment.activated`` finds this row and sends nothing new.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event_id = models.CharField(max_length=255, unique=True)
    enrollment_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=32)
    product_type = models.CharField(max_length=16, choices=ProductType.choices)
    external_id = models.CharField(max_length=255)
    product_title = models.CharField(max_length=255, blank=True)
    order_id = models.CharField(max_length=255)
    order_item_id = models.CharField(max_length=255, blank=True)
    lms_user_id = models.CharField(max_length=64, blank=True)
    learner_commerce_user_id = models.CharField(max_length=64, blank=True)
    config = models.ForeignKey(RevenueConfig, on_delete=models.PROTECT, related_name="sales")
    basis = models.CharField(max_length=8, choices=Basis.choices)
    release_policy = models.CharField(max_length=16, choices=ReleasePolicy.choices)
    currency = models.CharField(max_length=3)
    gross_amount = models.DecimalField(max_digits=19, decimal_places=4)
    processor_fee = models.DecimalField(max_digits=19, decimal_places=4)
    total_amount = models.DecimalField(max_digits=19, decimal_places=4,
                                       help_text="What was split: net under basis net, gross under basis gross.")
    occurred_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=SaleState.choices, default=SaleState.ACTIVE)
    refund_event_id = models.CharField(max_length=255, blank=True)
    refund_amount = models.DecimalField(max_digits=19, decimal_places=4, null=True, blank=True,
                                        help_text="What the refund event debited (the share of totalAmount).")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(gross_amount__gte=0) & Q(processor_fee__gte=0) & Q(total_amount__gte=0),
                                   name="revenue_sale_amounts_not_negative"),
            models.CheckConstraint(condition=Q(total_amount__lte=F("gross_amount")),
                                   name="revenue_sale_total_within_gross"),
            models.CheckConstraint(condition=Q(refund_amount__isnull=True)
                                   | (Q(refund_amount__gte=0) & Q(refund_amount__lte=F("total_amount"))),
                                   name="revenue_sale_refund_within_total"),
        ]
        indexes = [models.Index(fields=["external_id", "occurred_at"], name="revenue_sale_product_time")]

    def __str__(self) -> str:
        return self.event_id


class ShareStatus(models.TextChoices):
    CLEARING = "clearing", "Earned (clearing)"
    HELD = "held", "Waiting for completion"
    RELEASED = "released", "Released"
    FORFEITED = "forfeited", "Forfeited"
    REFUNDED = "refunded", "Refunded"


class HoldReason(models.TextChoices):
    NONE = "", "Not held"
    COMPLETION = "completion", "Waiting for the learner to complete"
    INTERACTION = "interaction", "Waiting for the instructor interaction"


class RevenueShare(models.Model):
    """One payee's split of one sale, as sent; the LMS earnings page reads these rows."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sale = models.ForeignKey(RevenueSale, on_delete=models.PROTECT, related_name="shares")
    recipient = models.CharField(max_length=16, choices=Recipient.choices)
    reason = models.CharField(max_length=32, help_text="The wire split reason (instructor_share, ...).")
    payee_commerce_user_id = models.CharField(max_length=64)
    amount = models.DecimalField(max_digits=19, decimal_places=4)
    refunded_amount = models.DecimalField(max_digits=19, decimal_places=4, default=Decimal("0"))
    held = models.BooleanField(default=False, help_text="Sent with hold: true (release policy on_completion).")
    status = models.CharField(max_length=16, choices=ShareStatus.choices)
    decided_at = models.DateTimeField(null=True, blank=True, help_text="When it was released or forfeited.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sale", "recipient"], name="revenue_share_one_per_recipient"),
            models.CheckConstraint(condition=Q(amount__gte=0) & Q(refunded_amount__gte=0)
                                   & Q(refunded_amount__lte=F("amount")),
                                   name="revenue_share_amounts_bounded"),
            models.CheckConstraint(condition=Q(held=True) | ~Q(status__in=["held", "released", "forfeited"]),
                                   name="revenue_share_only_held_are_released"),
            models.CheckConstraint(condition=Q(status__in=ShareStatus.values), name="revenue_share_status_valid"),
        ]
        indexes = [models.Index(fields=["payee_commerce_user_id", "status"], name="revenue_share_payee_status")]

    def __str__(self) -> str:
        return f"{self.recipient} {self.amount} of {self.sale_id}"


class EnrollmentState(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


class EnrollmentFacts(models.Model):
    """What the lifecycle events have told us about one enrollment, whatever order they came in."""

    enrollment_id = models.CharField(max_length=255, primary_key=True)
    activated_payload = models.JSONField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    interaction_met_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=32, blank=True)
    refund_amount = models.DecimalField(max_digits=19, decimal_places=4, null=True, blank=True)
    refund_currency = models.CharField(max_length=3, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "enrollment facts"
        constraints = [models.CheckConstraint(condition=Q(refund_amount__isnull=True) | Q(refund_amount__gte=0),
                                              name="revenue_facts_refund_not_negative")]

    def __str__(self) -> str:
        return self.enrollment_id


class LifecycleEventSeen(models.Model):
    """Every ``enrollment.lifecycle`` message handled, by its idempotency key, kept for good."""

    idempotency_key = models.CharField(max_length=255, primary_key=True)
    event = models.CharField(max_length=64)
    enrollment_id = models.CharField(max_length=255)
    received_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["enrollment_id"], name="revenue_seen_enrollment")]

    def __str__(self) -> str:
        return f"{self.event} {self.enrollment_id}"


class RoleMapping(models.Model):
    """A Commerce role this app has asked identity to grant (or revoke) for a Commerce user (spec 4.3)."""

    commerce_user_id = models.CharField(max_length=64)
    role = models.CharField(max_length=32)
    email = models.EmailField(blank=True)
    granted = models.BooleanField(default=False)
    changes = models.PositiveIntegerField(default=0, help_text="How many grants and revokes were sent.")
    held_before = models.BooleanField(
        default=False, help_text="Identity already gave the role (by hand, or another app): never this app's to revoke.")
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["commerce_user_id", "role"], name="revenue_role_mapping_once")]

    def __str__(self) -> str:
        return f"{self.commerce_user_id} {self.role}={'yes' if self.granted else 'no'}"


class ErasedAccount(models.Model):
    """A Commerce account erased at its owner's request (``identity.user_erased``): never paid a new share again.

    Its shares in configs then go to the platform, like a share with nobody to receive it; what it already
    earned stays in the records under the same id, without its email.
    """

    commerce_user_id = models.CharField(max_length=64, primary_key=True)
    erased_at = models.DateTimeField()
    received_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"erased {self.commerce_user_id}"
