"""LMS users as seen from Commerce: created or refreshed on SSO, anonymised on erasure."""

from datetime import datetime

from django.db import IntegrityError, transaction

from learning.models import LegacyCredential, LegacyHashBackup, LmsUser


def lms_user_sync_from_commerce(*, commerce_user_id: str, email: str | None, now: datetime) -> LmsUser:
    """The LMS user linked to a Commerce identity, created (as a learner) on first sight.

    The cached email follows Commerce's. One read on the usual path, since this runs on
    every Bearer-authenticated API call; an erased (inactive) user keeps its anonymised email.
    """
    user = LmsUser.objects.filter(commerce_user_id=commerce_user_id).first()
    if user is None:
        try:
            with transaction.atomic():
                return LmsUser.objects.create(commerce_user_id=commerce_user_id, email=email or "",
                                              created_at=now)
        except IntegrityError:  # a concurrent first request created it
            user = LmsUser.objects.get(commerce_user_id=commerce_user_id)
    if email and user.is_active and user.email != email:
        LmsUser.objects.filter(pk=user.pk).update(email=email, updated_at=now)
        user.email = email
    return user


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
    if user.email != anonymous or user.is_active:
        user.email = anonymous
        user.is_active = False
        user.save(update_fields=["email", "is_active", "updated_at"])
    return True
