"""A person's data in revenue, erased with their Commerce account (``identity.user_erased``).

Revenue writes a person's email beside their Commerce id: in configs (instructor, creator, affiliate),
in a config's "changed by", and in the role mappings it asked identity for. Those emails go (a payee's
becomes the anonymous address identity now answers for the account, so the config still reads whose
share it was); amounts, shares, sales and ids stay, so the history and the earnings still add up. From
then on the account is paid no new share: its share of a later sale goes to the platform, like a share
with nobody to receive it, and revenue asks identity for no role on its behalf. Running it again changes nothing.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from revenue.models import ErasedAccount, RevenueConfig, RoleMapping

PAYEE_ROLES = ("instructor", "creator", "affiliate")


def erased_email(commerce_user_id: str) -> str:
    """The anonymous address of an erased account (the one identity answers for it)."""
    return f"erased-{commerce_user_id}@invalid"


def erased_among(commerce_user_ids) -> set[str]:
    ids = {str(user_id) for user_id in commerce_user_ids if user_id}
    if not ids:
        return set()
    return set(ErasedAccount.objects.filter(commerce_user_id__in=ids).values_list("commerce_user_id", flat=True))


def is_erased(commerce_user_id_field: str) -> Exists:
    """For ``annotate``: whether the account in the outer query's ``commerce_user_id_field`` was erased."""
    return Exists(ErasedAccount.objects.filter(commerce_user_id=OuterRef(commerce_user_id_field)))


@dataclass(frozen=True)
class AccountErasure:
    configs_anonymised: int
    changed_by_cleared: int
    role_mappings_cleared: int


@transaction.atomic
def account_erase(*, commerce_user_id: str, erased_at: datetime, now: datetime) -> AccountErasure:
    user_id = str(commerce_user_id)
    ErasedAccount.objects.get_or_create(commerce_user_id=user_id, defaults={"erased_at": erased_at,
                                                                           "received_at": now})
    anonymous = erased_email(user_id)
    emails: set[str] = set()
    configs = 0
    for role in PAYEE_ROLES:
        rows = RevenueConfig.objects.filter(**{f"{role}_commerce_user_id": user_id})
        emails.update(rows.exclude(**{f"{role}_email": ""}).values_list(f"{role}_email", flat=True))
        configs += rows.exclude(**{f"{role}_email": anonymous}).update(**{f"{role}_email": anonymous})
    mappings = RoleMapping.objects.filter(commerce_user_id=user_id)
    emails.update(mappings.exclude(email="").values_list("email", flat=True))
    # Identity dropped every role of the account with it: nothing this app asked for is granted any more.
    cleared = mappings.exclude(email="", granted=False).update(email="", granted=False, updated_at=now)
    emails.discard(anonymous)
    changed_by = 0
    if emails:
        matches = Q()
        for email in emails:
            matches |= Q(changed_by_email__iexact=email)
        changed_by = RevenueConfig.objects.filter(matches).update(changed_by_email="")
    return AccountErasure(configs_anonymised=configs, changed_by_cleared=changed_by, role_mappings_cleared=cleared)
