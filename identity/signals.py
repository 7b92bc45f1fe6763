"""Receivers that keep tokens and the validation cache in step with what happens to accounts."""

from allauth.account.signals import password_changed, password_reset, password_set
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_save
from django.dispatch import receiver

from identity import caching
from identity.models import TokenFamily, User
from identity.services.tokens import SSO_BINDING_SESSION_KEY, session_tokens_revoke, user_tokens_revoke_all

# Saving only these does not change what token validation answers.
_IDENTITY_NEUTRAL_FIELDS = frozenset({"last_login", "password", "updated_at"})


@receiver(user_logged_out, dispatch_uid="identity.revoke_session_tokens")
def revoke_session_tokens(sender, request, user, **kwargs):
    """Storefront logout ends the SSO tokens handed to the LMS from that session."""
    session = getattr(request, "session", None)
    if session is not None:
        session_tokens_revoke(session_binding=session.get(SSO_BINDING_SESSION_KEY, ""))


@receiver(password_reset, dispatch_uid="identity.revoke_on_password_reset")
def revoke_on_password_reset(sender, request, user, **kwargs):
    user_tokens_revoke_all(user_id=user.pk, reason="password_reset")


@receiver(password_changed, dispatch_uid="identity.revoke_sso_on_password_change")
@receiver(password_set, dispatch_uid="identity.revoke_sso_on_password_set")
def revoke_sso_on_password_change(sender, request, user, **kwargs):
    """A new password ends the tokens handed to the LMS: whoever held the old one may hold those."""
    user_tokens_revoke_all(user_id=user.pk, reason="password_changed", kind=TokenFamily.Kind.SSO)


@receiver(post_save, sender=User, dispatch_uid="identity.forget_cached_identity")
def forget_cached_identity(sender, instance, update_fields=None, **kwargs):
    if update_fields and set(update_fields) <= _IDENTITY_NEUTRAL_FIELDS:
        return
    caching.user_identity_forget(str(instance.pk))
