"""LMS users and the legacy LMS credentials kept until identity migration phase 3.

Commerce owns identity: an ``LmsUser`` points at its Commerce identity only by the
opaque ``commerce_user_id`` (never a ForeignKey, the identity lives in another
service). Legacy LMS accounts keep their imported password hash in a
``LegacyCredential`` until ``migrate_lms_identities`` hands it to Commerce, leaving
a ``LegacyHashBackup`` for ``rollback_identity_phase``.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone


class LmsUserType(models.TextChoices):
    LEARNER = "learner", "Learner"
    STAFF = "staff", "Staff"
    GLOBAL_ADMIN = "global-admin", "Global admin"


def default_user_types() -> list[str]:
    return [LmsUserType.LEARNER.value]


class LmsUser(models.Model):
    """A person in the LMS; ``id`` is the ``lmsUserId`` of the wire contracts.

    It also serves as ``request.user`` on LMS API views (``CommerceBearerAuthentication``,
    ``LmsSessionAuthentication``), hence the few user-like attributes below.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    commerce_user_id = models.CharField(
        max_length=64, unique=True, null=True, blank=True,
        help_text="The opaque Commerce identity id (commerceUserId); empty for a legacy account not yet migrated.")
    email = models.EmailField(max_length=254, help_text="Cached from Commerce (or the legacy import).")
    user_types = models.JSONField(default=default_user_types, help_text="learner, staff, global-admin")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "LMS user"
        constraints = [
            models.CheckConstraint(condition=Q(commerce_user_id__isnull=True) | ~Q(commerce_user_id=""),
                                   name="learning_lmsuser_commerce_id_not_blank"),
        ]
        indexes = [models.Index(Lower("email"), name="learning_lmsuser_email_ci")]

    def __str__(self) -> str:
        return self.email

    # What DRF and templates expect of ``request.user``.
    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    @property
    def lms_user_id(self) -> str:
        return str(self.id)


class LegacyCredential(models.Model):
    """The password hash of a legacy LMS account, in Django's format (bcrypt as ``bcrypt$$2b$…``)."""

    lms_user = models.OneToOneField(LmsUser, on_delete=models.CASCADE, related_name="legacy_credential")
    password_hash = models.CharField(max_length=255)
    imported_at = models.DateTimeField()
    source_created_at = models.DateTimeField(null=True, blank=True,
                                             help_text="createdAt of the account in the legacy LMS.")

    class Meta:
        verbose_name = "legacy LMS credential"
        constraints = [
            models.CheckConstraint(condition=~Q(password_hash=""), name="learning_legacycredential_hash_not_blank"),
        ]

    def __str__(self) -> str:
        return f"legacy credential of {self.lms_user_id}"


class LegacyHashBackup(models.Model):
    """A copy of a legacy hash taken when the account moved to Commerce; restored on rollback.

    Rows are only ever added, marked restored, or deleted when the person's data is erased.
    """

    lms_user = models.ForeignKey(LmsUser, on_delete=models.PROTECT, related_name="legacy_hash_backups")
    email = models.EmailField(max_length=254)
    password_hash = models.CharField(max_length=255)
    source_created_at = models.DateTimeField(null=True, blank=True)
    backed_up_at = models.DateTimeField()
    batch_id = models.UUIDField(help_text="The migrate_lms_identities run (and batch) that took the backup.")
    restored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "legacy hash backup"
        constraints = [
            models.CheckConstraint(condition=Q(restored_at__isnull=True) | Q(restored_at__gte=models.F("backed_up_at")),
                                   name="learning_legacyhashbackup_restored_after_backup"),
        ]
        indexes = [
            models.Index(fields=["lms_user", "backed_up_at"], name="learning_backup_user_time"),
            models.Index(fields=["batch_id"], name="learning_backup_batch"),
        ]

    def __str__(self) -> str:
        return f"backup of {self.lms_user_id} at {self.backed_up_at:%Y-%m-%d %H:%M}"
