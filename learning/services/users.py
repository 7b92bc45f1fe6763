"""LMS users as seen from Commerce: created or refreshed on SSO, anonymised on erasure."""

import hashlib
import uuid
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from integration.db import insert_ignore
from learning.models import (
    Certificate,
    ErasedEmail,
    ExamAttempt,
    Interaction,
    LegacyCredential,
    LegacyHashBackup,
    LessonCompletion,
    LmsUser,
    default_user_types,
)


def email_digest(email: str) -> str:
    """How an erased person's email is remembered: SHA-256 of the trimmed, lower-cased address."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def email_was_erased(email: str) -> bool:
    """Whether this email belonged to someone erased (an import must not bring them back)."""
    return ErasedEmail.objects.filter(email_sha256=email_digest(email)).exists()


def lms_user_sync_from_commerce(*, commerce_user_id: str, email: str | None, now: datetime) -> LmsUser:
    """The LMS user linked to a Commerce identity, created (as a learner) on first sight.

    The cached email follows Commerce's. One read on the usual path, since this runs on
    every Bearer-authenticated API call; an erased (inactive) user keeps its anonymised email.
    """
    user = LmsUser.objects.filter(commerce_user_id=commerce_user_id).first()
    if user is None:
        user, _ = lms_user_ensure_from_commerce(commerce_user_id=commerce_user_id, email=email, now=now)
        return user
    return _email_follow(user, email=email, now=now)


def lms_user_ensure_from_commerce(*, commerce_user_id: str, email: str | None,
                                  now: datetime) -> tuple[LmsUser, bool]:
    """:func:`lms_user_sync_from_commerce` that tries the insert first; answers ``(user, created)``.

    For callers where first sight is common (a purchase's grant): a new user costs one
    statement (``INSERT … ON CONFLICT DO NOTHING``, no savepoint), a known one that and a read.
    ``created`` means the user was inserted in the caller's transaction, so nobody else can
    hold rows for it yet. A concurrent first sight waits for the other's commit, then reads it.
    """
    values = {"id": uuid.uuid4(), "commerce_user_id": commerce_user_id, "email": email or "",
              "user_types": default_user_types(), "is_active": True, "created_at": now, "updated_at": now}
    if insert_ignore(LmsUser, [values], conflict=["commerce_user_id"]):
        names = [field.attname for field in LmsUser._meta.concrete_fields]
        return LmsUser.from_db(connection.alias, names, [values[name] for name in names]), True
    user = LmsUser.objects.get(commerce_user_id=commerce_user_id)
    return _email_follow(user, email=email, now=now), False


def _email_follow(user: LmsUser, *, email: str | None, now: datetime) -> LmsUser:
    if email and user.is_active and user.email != email:
        LmsUser.objects.filter(pk=user.pk).update(email=email, updated_at=now)
        user.email = email
    return user


def lms_user_mailable(user: LmsUser) -> bool:
    """Whether an email may go to this person: active, with an address that is not an erased one."""
    return bool(user.is_active and user.email and not user.email.endswith("@invalid"))


def erased_email(user: LmsUser) -> str:
    return f"erased-{user.id}@invalid"


@transaction.atomic
def lms_user_erase(*, commerce_user_id: str) -> bool:
    """Anonymises the LMS user of an erased Commerce identity; keeps the row and its id.

    Drops the legacy credential and its backups (they are the person's data). Safe to
    run again. Answers whether such a user exists here.
    """
    user = LmsUser.objects.select_for_update().filter(commerce_user_id=commerce_user_id).first()
    if user is None:
        return False
    LegacyCredential.objects.filter(lms_user=user).delete()
    LegacyHashBackup.objects.filter(lms_user=user).delete()
    anonymous = erased_email(user)
    if user.email and user.email != anonymous:
        ErasedEmail.objects.get_or_create(email_sha256=email_digest(user.email),
                                          defaults={"erased_at": timezone.now()})
    # Progress details are the person's data: answers and notes go; the facts that records rest on stay
    # (that a lesson was done, an attempt's score, that an interaction took place).
    ExamAttempt.objects.filter(user=user).update(answers={})
    Interaction.objects.filter(enrollment__user=user).update(note="")
    LessonCompletion.objects.filter(user=user).delete()
    Certificate.objects.filter(user=user).update(holder_email=anonymous)
    if user.email != anonymous or user.is_active:
        user.email = anonymous
        user.is_active = False
        user.save(update_fields=["email", "is_active", "updated_at"])
    return True
