import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A Commerce identity. Keyed by email; the id is the opaque ``commerceUserId`` the LMS keeps."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=254, unique=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # Set when the person deleted their account: the row stays (orders, ledger and audit point at it).
    erased_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="identity_user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email


# --- Commerce roles -----------------------------------------------------------

class Role(models.TextChoices):
    PURCHASER = "purchaser", "Purchaser"
    PAYEE = "payee", "Payee"
    COMMERCE_ADMIN = "commerce-admin", "Commerce admin"


# Every user is a purchaser; only these are stored.
STORED_ROLES = (Role.PAYEE, Role.COMMERCE_ADMIN)


class UserRole(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="commerce_roles")
    role = models.CharField(max_length=32, choices=[(r.value, r.label) for r in STORED_ROLES])
    granted_at = models.DateTimeField(default=timezone.now)
    # Who granted it: a user id, "service:<client id>" or "system:<what>".
    granted_by = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="identity_userrole_unique"),
            models.CheckConstraint(condition=Q(role__in=[r.value for r in STORED_ROLES]),
                                   name="identity_userrole_known_role"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.role}"


class RoleAuditLog(models.Model):
    """Append-only: every grant and revoke request, who asked, why, and whether it changed anything."""

    class Action(models.TextChoices):
        GRANT = "grant", "Grant"
        REVOKE = "revoke", "Revoke"

    id = models.BigAutoField(primary_key=True)
    user_id = models.UUIDField(db_index=True)  # the subject; kept as a plain id so rows outlive anything
    role = models.CharField(max_length=32)
    action = models.CharField(max_length=8, choices=Action.choices)
    actor = models.CharField(max_length=255)  # a user id, "service:<client id>" or "system:<what>"
    reason = models.CharField(max_length=1000)
    metadata = models.JSONField(default=dict, blank=True)
    changed = models.BooleanField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(action__in=["grant", "revoke"]),
                                              name="identity_roleaudit_action")]

    def __str__(self) -> str:
        return f"{self.action} {self.role} for {self.user_id} by {self.actor}"


# --- Tokens -------------------------------------------------------------------

class TokenFamily(models.Model):
    """One login's chain of refresh tokens and the access tokens issued from them.

    Revoking the family (logout, refresh-token reuse, erasure, password reset)
    invalidates every token carrying its ``fam`` claim.
    """

    class Kind(models.TextChoices):
        API = "api", "API login"
        SSO = "sso", "Storefront session (SSO)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="token_families")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    # SHA-256 of the Django session key an SSO family belongs to; storefront logout revokes it.
    session_key_hash = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    absolute_expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name_plural = "token families"
        indexes = [models.Index(fields=["revoked_at", "absolute_expires_at"], name="identity_fam_revoked_idx"),
                   models.Index(fields=["user", "revoked_at"], name="identity_fam_user_idx")]

    def __str__(self) -> str:
        return f"{self.kind} family {self.id}"


class RefreshTokenRecord(models.Model):
    """Each refresh token issued; ``used_at`` marks one already rotated (a second use is a reuse)."""

    jti = models.CharField(max_length=64, primary_key=True)
    family = models.ForeignKey(TokenFamily, on_delete=models.CASCADE, related_name="refresh_tokens")
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.jti


# --- Service clients ----------------------------------------------------------

SERVICE_SCOPES = (
    "tokens:validate", "users:read", "users:migrate", "roles:write",
    "catalog:read", "catalog:write", "entitlements:write", "revenue:write",
)


class ServiceClient(models.Model):
    """A service allowed to get short-lived service tokens (spec 6.3). The secret is stored hashed."""

    client_id = models.SlugField(max_length=100, unique=True)
    secret_hash = models.CharField(max_length=255)
    scopes = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    description = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    last_token_at = models.DateTimeField(null=True, blank=True)
    # Service tokens issued before this are refused (a new secret ends the old secret's tokens).
    secret_changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.client_id


class ServiceClientAuditLog(models.Model):
    """Append-only: every change to a service client (from the admin or the command), who, what, why."""

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        SECRET = "secret", "Secret changed"
        DEACTIVATE = "deactivate", "Deactivated"

    id = models.BigAutoField(primary_key=True)
    client_id = models.CharField(max_length=100, db_index=True)  # a plain id: rows outlive the client
    action = models.CharField(max_length=16, choices=Action.choices)
    actor = models.CharField(max_length=255)  # a user id or "system:<what>"
    reason = models.CharField(max_length=1000, blank=True)
    # What changed, never the secret: {"scopes": [old, new], "isActive": [old, new], "secretChanged": true}.
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(action__in=["create", "update", "secret", "deactivate"]),
                                              name="identity_svcaudit_action")]

    def __str__(self) -> str:
        return f"{self.action} {self.client_id} by {self.actor}"


class AttemptCounter(models.Model):
    """Failed-attempt counters and lockouts (integration/throttle.py's database store).

    One row per throttle key (an account, an address, a service client and address, all hashed).
    Each attempt is counted here, in a row lock, before the password is checked.
    """

    key = models.CharField(max_length=128, primary_key=True)
    attempts = models.PositiveIntegerField(default=0)
    window_ends_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["window_ends_at"], name="identity_attempt_window_idx")]

    def __str__(self) -> str:
        return f"{self.key}: {self.attempts}"


# --- Identity migration (000_... section 10) ----------------------------------

class IdentityPhase(models.Model):
    """The one row (pk=1) holding the current migration phase."""

    class Phase(models.IntegerChoices):
        FOUNDATION = 1, "1 · Commerce foundation (no auth migration)"
        SSO_BRIDGE = 2, "2 · SSO bridge"
        MIGRATION = 3, "3 · Identity migration"

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    phase = models.PositiveSmallIntegerField(choices=Phase.choices, default=Phase.FOUNDATION)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="identity_phase_singleton"),
            models.CheckConstraint(condition=Q(phase__in=[1, 2, 3]), name="identity_phase_known"),
        ]

    def __str__(self) -> str:
        return f"phase {self.phase}"


class IdentityPhaseChange(models.Model):
    from_phase = models.PositiveSmallIntegerField()
    to_phase = models.PositiveSmallIntegerField()
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.CharField(max_length=255)
    reason = models.CharField(max_length=1000)

    def __str__(self) -> str:
        return f"{self.from_phase} → {self.to_phase} at {self.changed_at:%Y-%m-%d %H:%M}"


class LmsAccountLink(models.Model):
    """A legacy LMS account carried over to (or matched with) this Commerce identity in phase 3."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="lms_links")
    lms_user_id = models.CharField(max_length=255, unique=True)
    created_user = models.BooleanField()  # True: the import made the Commerce user; False: matched one
    linked_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.lms_user_id} → {self.user_id}"
