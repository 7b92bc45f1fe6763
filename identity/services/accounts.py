"""Account life cycle beyond sign-in: erasure on request, and legacy LMS accounts carried over in phase 3."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.hashers import identify_hasher
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token as DrfToken

from identity import caching
from identity.errors import (
    ConcurrentImport,
    EmailConflictUnverified,
    InvalidEmail,
    InvalidLmsUserId,
    LmsUserConflict,
    UnsupportedHash,
    UserNotFound,
    WrongPhase,
)
from identity.hashers import django_hash_from_raw_bcrypt
from identity.models import LmsAccountLink, RoleAuditLog, User, UserRole
from identity.selectors import identity_phase_get
from identity.services.tokens import user_tokens_revoke_all
from integration.outbox import outbox_send
from integration.topics import Topic

ERASED_EMAIL_DOMAIN = "invalid"
_ERASURE_NAMESPACE = uuid.UUID("0b5d9c1e-52c4-4b0f-9a53-5f0d1f7a6c21")


@dataclass(frozen=True)
class Erasure:
    user_id: str
    erased_at: datetime
    already_erased: bool


def erased_email(user_id) -> str:
    return f"erased-{user_id}@{ERASED_EMAIL_DOMAIN}"


def user_erase(*, user_id, actor: str, now: datetime | None = None) -> Erasure:
    """Erases a person's data and keeps the row, so orders, ledger entries and audit records still
    point at the same (now anonymous) user id. The LMS is told through the outbox, in the same
    transaction. Running it again changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id).first()
        if user is None:
            raise UserNotFound(details={"userId": str(user_id)})
        if user.erased_at is not None:
            return Erasure(user_id=str(user.pk), erased_at=user.erased_at, already_erased=True)
        user.email = erased_email(user.pk)
        user.set_unusable_password()
        user.is_active = user.is_staff = user.is_superuser = False
        user.last_login = None
        user.erased_at = now
        user.save()
        user.groups.clear()
        user.user_permissions.clear()
        EmailAddress.objects.filter(user=user).delete()
        Authenticator.objects.filter(user=user).delete()
        SocialAccount.objects.filter(user=user).delete()
        DrfToken.objects.filter(user=user).delete()
        for role in UserRole.objects.filter(user=user).values_list("role", flat=True):
            RoleAuditLog.objects.create(user_id=user.pk, role=role, action=RoleAuditLog.Action.REVOKE,
                                        actor=actor[:255], reason="account erased at the person's request",
                                        changed=True, created_at=now)
        UserRole.objects.filter(user=user).delete()
        user_tokens_revoke_all(user_id=user.pk, reason="erased", now=now)
        key = str(uuid.uuid5(_ERASURE_NAMESPACE, str(user.pk)))
        outbox_send(topic=Topic.USER_ERASED, aggregate_key=f"user:{user.pk}", idempotency_key=key,
                    payload={"idempotencyKey": key, "commerceUserId": str(user.pk), "erasedAt": now.isoformat()})
        caching.user_identity_forget(str(user.pk))
        transaction.on_commit(lambda: caching.user_identity_forget(str(user.pk)))
    return Erasure(user_id=str(user.pk), erased_at=now, already_erased=False)


def user_erase_confirmed(*, user: User, password: str | None, address: str | None,
                         now: datetime | None = None) -> Erasure:
    """Erasure asked for by the person: the current password first (when the account has one),
    counted like a sign-in attempt before it is checked (a locked account answers
    :class:`LoginLocked`; a wrong password :class:`InvalidCredentials`). The API and the page
    both call this."""
    from identity.errors import InvalidCredentials
    from identity.services.login import login_attempt_begin, login_attempt_verified
    from identity.services.roles import actor_for_user

    if user.has_usable_password():
        login_attempt_begin(email=user.email, address=address)
        if not user.check_password(password or ""):
            raise InvalidCredentials("The password is incorrect.")
        login_attempt_verified(email=user.email, address=address)
    return user_erase(user_id=user.pk, actor=actor_for_user(user), now=now)


# --- phase 3: legacy LMS accounts ----------------------------------------------

def stored_password_hash(password_hash) -> str:
    """What a legacy hash is stored as: raw bcrypt becomes ``bcrypt$<hash>`` (``$2y$`` read as
    ``$2b$``), a hash already in Django's format (any hasher in PASSWORD_HASHERS) stays as it is."""
    if not isinstance(password_hash, str) or not password_hash:
        raise UnsupportedHash()
    converted = django_hash_from_raw_bcrypt(password_hash)
    if converted:
        return converted
    try:
        hasher = identify_hasher(password_hash)
        hasher.decode(password_hash)
    except (ValueError, AssertionError, TypeError, IndexError):
        raise UnsupportedHash() from None
    return password_hash


@dataclass(frozen=True)
class ImportedUser:
    user_id: str
    created: bool

    def as_wire(self) -> dict:
        return {"userId": self.user_id, "created": self.created}


def identity_import_user(*, email: str, password_hash: str, lms_user_id: str,
                         now: datetime | None = None) -> ImportedUser:
    """Creates the Commerce identity of a legacy LMS account, keeping its password hash.

    Idempotent by email (and LMS user id). An existing Commerce account with the
    same email is linked (keeping its own password) only if that email is
    verified; otherwise 409 ``email_conflict_unverified``, so nobody can
    pre-register someone else's address to capture their LMS account.
    """
    if identity_phase_get() != 3:
        raise WrongPhase()
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidEmail() from None
    lms_user_id = str(lms_user_id or "").strip()
    if not lms_user_id or len(lms_user_id) > 255:
        raise InvalidLmsUserId()
    stored = stored_password_hash(password_hash)
    now = now or timezone.now()
    try:
        with transaction.atomic():
            return _import(email=email, stored_hash=stored, lms_user_id=lms_user_id, now=now)
    except IntegrityError:
        raise ConcurrentImport() from None


def _import(*, email: str, stored_hash: str, lms_user_id: str, now: datetime) -> ImportedUser:
    link = LmsAccountLink.objects.select_related("user").filter(lms_user_id=lms_user_id).first()
    if link is not None:
        if link.user.email.lower() != email:
            raise LmsUserConflict("This LMS account is already linked to another Commerce account.")
        return ImportedUser(user_id=str(link.user_id), created=False)
    user = User.objects.select_for_update().filter(email__iexact=email).first()
    if user is not None:
        if LmsAccountLink.objects.filter(user=user).exists():
            raise LmsUserConflict("This Commerce account is already linked to another LMS account.")
        if not EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists():
            raise EmailConflictUnverified()
        LmsAccountLink.objects.create(user=user, lms_user_id=lms_user_id, created_user=False, linked_at=now)
        return ImportedUser(user_id=str(user.pk), created=False)
    user = User(email=email, password=stored_hash, date_joined=now)
    user.save()
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
    LmsAccountLink.objects.create(user=user, lms_user_id=lms_user_id, created_user=True, linked_at=now)
    return ImportedUser(user_id=str(user.pk), created=True)
