"""Demo accounts (shared/API.md), made idempotently for ``manage.py seed_demo``."""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction

from identity.models import SERVICE_SCOPES, Role, User, UserRole
from identity.selectors import identity_phase_get
from identity.services.phases import identity_phase_set
from identity.services.roles import actor_for_system, role_grant
from identity.services.service_clients import service_client_upsert

DEMO_PASSWORD = "demo-pass-123"
DEMO_ACCOUNTS = [
    # email, roles, superuser
    ("admin@example.com", [Role.COMMERCE_ADMIN], True),
    ("instructor@example.com", [Role.PAYEE], False),
    ("creator@example.com", [Role.PAYEE], False),
    ("learner@example.com", [], False),
]
SEED_ACTOR = actor_for_system("seed_demo")


def _account(email: str, *, password: str | None, superuser: bool = False) -> tuple[User, bool]:
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if created:
        user = User(email=email)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
    if superuser and not (user.is_superuser and user.is_staff):
        user.is_superuser = user.is_staff = True
    user.save()
    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user, created


@transaction.atomic
def seed_identity(*, stdout) -> str:
    """Makes the demo accounts; answers the line ``seed_demo`` repeats at its end (after the demo's emails,
    which a console mail backend prints in between), so the logins are the last thing a new user reads."""
    for email, roles, superuser in DEMO_ACCOUNTS:
        user, created = _account(email, password=DEMO_PASSWORD, superuser=superuser)
        for role in roles:
            if not UserRole.objects.filter(user=user, role=role).exists():
                role_grant(user_id=user.pk, role=role, reason="demo data", actor=SEED_ACTOR)
        names = ", ".join(["purchaser", *roles]) + (", superuser" if superuser else "")
        stdout.write(f"  {'created' if created else 'kept   '} {email} / {DEMO_PASSWORD}  ({names})\n")
    platform, created = _account(settings.PLATFORM_PAYEE_EMAIL, password=None)
    if not UserRole.objects.filter(user=platform, role=Role.PAYEE).exists():
        role_grant(user_id=platform.pk, role=Role.PAYEE, reason="platform share of every sale", actor=SEED_ACTOR)
    stdout.write(f"  {'created' if created else 'kept   '} {settings.PLATFORM_PAYEE_EMAIL} (platform payee, no login)\n")
    if settings.SERVICE_CLIENT_ID and settings.SERVICE_CLIENT_SECRET:
        upsert = service_client_upsert(client_id=settings.SERVICE_CLIENT_ID, secret=settings.SERVICE_CLIENT_SECRET,
                                       scopes=list(SERVICE_SCOPES), description="this deployment's own calls",
                                       actor=SEED_ACTOR, reason="seed_demo: SERVICE_CLIENT_ID")
        stdout.write(f"  {'created' if upsert.created else 'updated'} service client {settings.SERVICE_CLIENT_ID} "
                     "(all scopes)\n")
    if identity_phase_get() == 1:
        # The demo has no legacy LMS accounts to protect, so it opens the SSO bridge ("My courses").
        identity_phase_set(phase=2, reason="demo data: SSO bridge open", actor=SEED_ACTOR)
        stdout.write("  identity phase 1 -> 2 (the LMS accepts store logins)\n")
    return (f"Log in at /account/login/ as {', '.join(email for email, *_ in DEMO_ACCOUNTS)} "
            f"(password {DEMO_PASSWORD} for all).")
