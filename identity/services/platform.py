"""The platform's own payee account: where the platform's share of every sale is booked."""

from django.conf import settings
from django.db import transaction

from identity.models import Role, User, UserRole
from identity.services.roles import actor_for_system, role_grant


@transaction.atomic
def platform_payee_ensure() -> User:
    """The account named by ``PLATFORM_PAYEE_EMAIL`` (no login), created with the payee role if missing."""
    user = User.objects.filter(email__iexact=settings.PLATFORM_PAYEE_EMAIL).first()
    if user is None:
        user = User(email=settings.PLATFORM_PAYEE_EMAIL.lower())
        user.set_unusable_password()
        user.save()
    if not UserRole.objects.filter(user=user, role=Role.PAYEE).exists():
        role_grant(user_id=user.pk, role=Role.PAYEE, reason="platform share of every sale",
                   actor=actor_for_system("platform account"))
    return user
