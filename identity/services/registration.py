"""Sign-up, on the API and the pages: one answer whether or not the email is taken.

A new address gets an account and the confirmation email; an address that already
has an account (verified or not, in any letter case) gets no second account, and its
owner gets an email saying someone tried to register with it. The caller answers the
same in both cases, so sign-up tells nobody which addresses have accounts.
"""

from dataclasses import dataclass

from allauth.account import app_settings as allauth_settings
from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from allauth.account.signals import user_signed_up
from django.db import IntegrityError, transaction

from identity.models import User


@dataclass(frozen=True)
class Registration:
    email: str
    # Only for the caller's own bookkeeping; never tell the person which case it was.
    created: bool


def registration_submit(*, request, email: str, password: str) -> Registration:
    """``password`` has been validated by the caller (the validators need the form's context)."""
    email = (email or "").strip().lower()
    adapter = get_adapter(request)
    try:
        with transaction.atomic():
            if User.objects.filter(email__iexact=email).exists():
                raise IntegrityError("email taken")
            user = User.objects.create_user(email=email, password=password)
            EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
    except IntegrityError:  # taken, or taken a moment ago by a concurrent sign-up
        adapter.send_account_already_exists_mail(email)  # the mail module sends after commit
        return Registration(email=email, created=False)
    if allauth_settings.EMAIL_VERIFICATION != allauth_settings.EmailVerificationMethod.NONE:
        address = EmailAddress.objects.get(user=user, email=email)
        address.send_confirmation(request, signup=True)
    user_signed_up.send(sender=User, request=request, user=user)
    return Registration(email=email, created=True)
