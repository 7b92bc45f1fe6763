"""A new password, by any path (the pages' change, set and reset; the API's change and reset confirm):
one service, so every path ends the other sessions the same way."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from identity import caching
from identity.models import TokenFamily, User


@transaction.atomic
def user_password_set(*, user: User, password: str, reason: str, keep_family_id: str | None = None,
                      now: datetime | None = None) -> int:
    """Sets and saves ``password``, then revokes every live token family of the user (API sign-ins and
    the SSO tokens handed to the LMS) except ``keep_family_id``, the one making the change through
    the API. Whoever held the old password may hold those tokens. The change also moves Django's
    session hash, which ends the user's other browser sessions (and the LMS sessions opened in them,
    ``learning.middleware``). Returns the number of families revoked."""
    from identity.services.tokens import revoke_families_where

    now = now or timezone.now()
    user.set_password(password)
    user.save(update_fields=["password", "updated_at"])
    families = TokenFamily.objects.filter(user_id=user.pk)
    if keep_family_id:
        families = families.exclude(pk=keep_family_id)
    revoked = revoke_families_where(families, reason=reason, now=now)
    transaction.on_commit(lambda: caching.user_identity_forget(str(user.pk)))
    return revoked
