"""The one receiver left: keeping the public-identity cache in step with saved accounts.

Token revocation is not done here: a password change, a logout or an erasure revokes through
its service (``identity.services.passwords``, ``.tokens``, ``.accounts``), which every entry
point calls.
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from identity import caching
from identity.models import User

# Saving only these does not change what token validation answers.
_IDENTITY_NEUTRAL_FIELDS = frozenset({"last_login", "password", "updated_at"})


@receiver(post_save, sender=User, dispatch_uid="identity.forget_cached_identity")
def forget_cached_identity(sender, instance, update_fields=None, **kwargs):
    if update_fields and set(update_fields) <= _IDENTITY_NEUTRAL_FIELDS:
        return
    caching.user_identity_forget(str(instance.pk))
