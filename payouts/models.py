"""The revenue ledger (double-entry, append-only), its balance projection, and payouts.

Every money movement is one :class:`LedgerPosting` with two or more
:class:`RevenueLedgerEntry` legs whose credits equal their debits. On
PostgreSQL a deferred constraint trigger checks that at commit and another
trigger refuses UPDATE and DELETE of legs and postings (migration 0002); on
SQLite :func:`payouts.services.ledger.posting_write` checks the same before it
writes. :class:`PayoutBalance` is the projection read in O(1); ``manage.py
reconcile ledger`` proves it equals the legs.

Ids of other apps (users, orders, products) are plain strings: no relation
crosses an app.
"""

import uuid

from django.db import models
from django.db.models import Q

MONEY = {"max_digits": 19, "decimal_places": 4}


class Account(models.TextChoices):
    """The ledger's accounts. The three ``payee_*`` ones exist per payee and currency."""

    PAYEE_PENDING = "payee_pending", "Payee: pending (clearing)"
    PAYEE_HELD = "payee_held", "Payee: held until completion"
    PAYEE_AVAILABLE = "payee_available", "Payee: available"
    SALES_CLEARING = "sales_clearing", "Sales clearing"
    PROCESSOR_FEES = "processor_fees", "Processor fees"
    PAYOUTS_IN_TRANSIT = "payouts_in_transit", "Payouts in transit"
    PAYOUTS_PAID = "payouts_paid", "Payouts paid"


# In a fixed order (the one migration 0001 wrote): a set's order changes with each process's string hashing,
# which made makemigrations see the CheckConstraint below as changed in some runs.
PAYEE_ACCOUNT_ORDER = (Account.PAYEE_HELD, Account.PAYEE_PENDING, Account.PAYEE_AVAILABLE)
PAYEE_ACCOUNTS = frozenset(PAYEE_ACCOUNT_ORDER)


def _refuse(model, operation: str):
    # Imported here: payouts.errors pulls in DRF, which must not load while the models do.
    from payouts.errors import LedgerAppendOnlyError

    raise LedgerAppendOnlyError(details={"model": model.__name__, "operation": operation})


class AppendOnlyQuerySet(models.QuerySet):
    """The model-level guard (SQLite has no triggers): the ORM refuses to change or remove ledger rows."""

    def update(self, **kwargs):
        _refuse(self.model, "update")

    def delete(self):
        _refuse(self.model, "delete")

    def bulk_update(self, objs, fields, batch_size=None):
        _refuse(self.model, "update")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            _refuse(type(self), "update")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        _refuse(type(self), "delete")


class LedgerPosting(AppendOnlyModel):
    """One balanced money movement, written once under its ``key`` (for good, unlike the inbox's 7 days)."""

    class Kind(models.TextChoices):
        SALE = "sale"
        REFUND = "refund"
        RELEASE = "release"
        FORFEIT = "forfeit"
        CLEARING = "clearing"
        PAYOUT = "payout"
        PAYOUT_PAID = "payout_paid"
        PAYOUT_FAILED = "payout_failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # event:<eventId>, release:<eventId>:<payee>, payout:<payoutId>, ...: a retry can never post twice.
    key = models.CharField(max_length=300, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    event_id = models.CharField(max_length=255, blank=True, db_index=True)
    event_type = models.CharField(max_length=40, blank=True)
    original_event_id = models.CharField(max_length=255, blank=True)  # the sale a refund reverses
    order_id = models.CharField(max_length=255, blank=True)
    product_id = models.CharField(max_length=255, blank=True)
    currency = models.CharField(max_length=3)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField()
    description = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["order_id"], name="payouts_posting_order_idx")]

    def __str__(self) -> str:
        return self.key


class RevenueLedgerEntry(AppendOnlyModel):
    """One leg of a posting (spec 7.1 RevenueLedgerEntry). Never updated, never deleted."""

    class Type(models.TextChoices):
        CREDIT = "credit"
        DEBIT = "debit"

    id = models.BigAutoField(primary_key=True)
    posting = models.ForeignKey(LedgerPosting, on_delete=models.PROTECT, related_name="entries")
    event_id = models.CharField(max_length=255, blank=True)
    order_id = models.CharField(max_length=255, blank=True)
    product_id = models.CharField(max_length=255, blank=True)
    type = models.CharField(max_length=6, choices=Type.choices)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    account = models.CharField(max_length=20, choices=Account.choices)
    payee_user_id = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=40)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "ledger entry"
        verbose_name_plural = "ledger entries"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payouts_entry_amount_positive"),
            models.CheckConstraint(
                condition=Q(account__in=list(PAYEE_ACCOUNT_ORDER), payee_user_id__gt="")
                | (~Q(account__in=list(PAYEE_ACCOUNT_ORDER)) & Q(payee_user_id="")),
                name="payouts_entry_payee_accounts_have_a_payee"),
        ]
        indexes = [
            models.Index(fields=["payee_user_id", "currency", "id"], name="payouts_entry_payee_idx"),
            models.Index(fields=["account", "id"], name="payouts_entry_account_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.amount} {self.currency} {self.account} {self.payee_user_id}"


class PayoutBalance(models.Model):
    """Spec 7.1 PayoutBalance, plus ``held``: the ledger's payee accounts, summed as they are posted."""

    id = models.BigAutoField(primary_key=True)
    payee_user_id = models.CharField(max_length=64)
    currency = models.CharField(max_length=3)
    available = models.DecimalField(default=0, **MONEY)
    pending = models.DecimalField(default=0, **MONEY)
    held = models.DecimalField(default=0, **MONEY)
    last_updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["payee_user_id", "currency"],
                                               name="payouts_balance_one_per_payee_currency")]

    def __str__(self) -> str:
        return f"{self.payee_user_id} {self.currency}"


class PendingAmount(models.Model):
    """A credit still waiting: the date it becomes available (null while held for completion)."""

    class State(models.TextChoices):
        HELD = "held"
        PENDING = "pending"
        AVAILABLE = "available"
        FORFEITED = "forfeited"

    id = models.BigAutoField(primary_key=True)
    payee_user_id = models.CharField(max_length=64)
    currency = models.CharField(max_length=3)
    event_id = models.CharField(max_length=255)
    order_id = models.CharField(max_length=255, blank=True)
    product_id = models.CharField(max_length=255, blank=True)
    reason = models.CharField(max_length=40)
    amount = models.DecimalField(**MONEY)  # what is still waiting (a refund before clearing lowers it)
    original_amount = models.DecimalField(**MONEY)
    refunded = models.DecimalField(default=0, **MONEY)  # refunds of this split so far, wherever it was
    state = models.CharField(max_length=10, choices=State.choices)
    sold_at = models.DateTimeField()
    available_on = models.DateTimeField(null=True, blank=True)
    # A forfeited share goes on waiting as the platform's; a refund follows it there.
    forfeited_to = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="forfeited_from")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event_id", "payee_user_id", "reason"],
                                    condition=~Q(reason="forfeit"),
                                    name="payouts_pending_one_per_split"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="payouts_pending_amount_not_negative"),
            models.CheckConstraint(condition=~Q(state="pending") | Q(available_on__isnull=False),
                                   name="payouts_pending_has_a_date"),
        ]
        indexes = [
            models.Index(fields=["state", "available_on"], name="payouts_pending_due_idx"),
            models.Index(fields=["payee_user_id", "currency", "state"], name="payouts_pending_payee_idx"),
            models.Index(fields=["event_id"], name="payouts_pending_event_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} for {self.payee_user_id} ({self.state})"


class RevenueRelease(models.Model):
    """What the LMS decided for a held share: posted once per (eventId, payee)."""

    class Action(models.TextChoices):
        RELEASE = "release"
        FORFEIT = "forfeit"

    id = models.BigAutoField(primary_key=True)
    event_id = models.CharField(max_length=255)
    payee_user_id = models.CharField(max_length=64)
    action = models.CharField(max_length=10, choices=Action.choices)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    # None when nothing was left to move (the share was refunded in full while held).
    posting = models.OneToOneField(LedgerPosting, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="release")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event_id", "payee_user_id"],
                                               name="payouts_release_once_per_share")]

    def __str__(self) -> str:
        return f"{self.action} {self.event_id} {self.payee_user_id}"


# --- Payees' settings -----------------------------------------------------------

class PayoutAccount(models.Model):
    """Where a payee's money goes: a Stripe Connect account, or bank details an admin pays by hand."""

    class Method(models.TextChoices):
        STRIPE_CONNECT = "stripe_connect", "Stripe Connect"
        MANUAL = "manual", "Bank transfer (manual)"

    id = models.BigAutoField(primary_key=True)
    payee_user_id = models.CharField(max_length=64, unique=True)
    method = models.CharField(max_length=20, choices=Method.choices)
    stripe_account_id = models.CharField(max_length=255, blank=True)
    # MultiFernet token of the JSON bank details (holder, IBAN/account number, routing/BIC): never plain.
    bank_details_encrypted = models.TextField(blank=True)
    bank_last4 = models.CharField(max_length=4, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(method="stripe_connect") & Q(stripe_account_id__startswith="acct_"))
                | (Q(method="manual") & ~Q(bank_details_encrypted="")),
                name="payouts_account_has_its_details"),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} for {self.payee_user_id}"


class TaxInfo(models.Model):
    class Form(models.TextChoices):
        W9 = "w9", "W-9 (US person)"
        W8BEN = "w8ben", "W-8BEN (individual outside the US)"
        W8BENE = "w8bene", "W-8BEN-E (entity outside the US)"

    id = models.BigAutoField(primary_key=True)
    payee_user_id = models.CharField(max_length=64, unique=True)
    legal_name = models.CharField(max_length=200)
    country = models.CharField(max_length=2)
    tax_id_encrypted = models.TextField()
    tax_id_last4 = models.CharField(max_length=4)
    form = models.CharField(max_length=10, choices=Form.choices)
    certified_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "tax information"

    def __str__(self) -> str:
        return f"{self.legal_name} ({self.get_form_display()})"


class PayoutSchedule(models.Model):
    class Frequency(models.TextChoices):
        WEEKLY = "weekly"
        MONTHLY = "monthly"

    id = models.BigAutoField(primary_key=True)
    payee_user_id = models.CharField(max_length=64, unique=True)
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.MONTHLY)
    # Weekly: 0 (Monday) to 6; monthly: day 1 to 28 (every month has it).
    day = models.PositiveSmallIntegerField(default=1)
    minimum_amount = models.DecimalField(default=50, **MONEY)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(frequency="weekly") & Q(day__lte=6)) | (Q(frequency="monthly") & Q(day__gte=1, day__lte=28)),
                name="payouts_schedule_day_in_range"),
            models.CheckConstraint(condition=Q(minimum_amount__gte=0), name="payouts_schedule_minimum_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.frequency} on {self.day}"


class PayoutHold(models.Model):
    """A commerce-admin stops a payee's payouts (the balance keeps accruing) until the hold is lifted."""

    id = models.BigAutoField(primary_key=True)
    payee_user_id = models.CharField(max_length=64)
    reason = models.CharField(max_length=500)
    created_by = models.CharField(max_length=254)
    created_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.CharField(max_length=254, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["payee_user_id"], condition=Q(released_at__isnull=True),
                                               name="payouts_one_active_hold_per_payee")]

    def __str__(self) -> str:
        return f"hold on {self.payee_user_id}"


class Payout(models.Model):
    class Status(models.TextChoices):
        PROCESSING = "processing"  # debited, transfer being sent
        AWAITING_CONFIRMATION = "awaiting_confirmation"  # manual: an admin confirms the bank transfer
        PAID = "paid"
        FAILED = "failed"  # the money went back to available

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payee_user_id = models.CharField(max_length=64)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**MONEY)
    status = models.CharField(max_length=24, choices=Status.choices)
    method = models.CharField(max_length=20, choices=PayoutAccount.Method.choices)
    destination = models.CharField(max_length=255, blank=True)  # acct_… or "bank ••1234"
    transfer_id = models.CharField(max_length=255, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    run_key = models.CharField(max_length=100, blank=True)  # one payout per payee and run
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payouts_payout_amount_positive"),
            models.UniqueConstraint(fields=["payee_user_id", "currency", "run_key"], condition=~Q(run_key=""),
                                    name="payouts_one_payout_per_run"),
        ]
        indexes = [models.Index(fields=["payee_user_id", "created_at"], name="payouts_payout_payee_idx")]

    def __str__(self) -> str:
        return f"payout {self.amount} {self.currency} to {self.payee_user_id} ({self.status})"


class ProductName(models.Model):
    """What a course or program is called, by the LMS id the revenue events carry (``productExternalId``).

    The events do not carry a name (spec 6.1.3), and the catalog port answers one product per external id, so
    each name is asked once when its sale is posted (``payouts.services.products``) and the pages read them
    all in one query. Not part of the ledger: a rename replaces the row.
    """

    external_id = models.CharField(max_length=255, primary_key=True)
    name = models.CharField(max_length=255)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name
