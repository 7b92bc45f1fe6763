"""Memberships (staff roles per department) and finding the LMS user behind an email."""

from datetime import datetime

from django.db import transaction

from learning import remote
from learning.errors import DepartmentInvalid, LmsUserNotFound
from learning.models import Department, LmsUser, LmsUserType, Membership, StaffRole
from learning.services.users import lms_user_sync_from_commerce


def lms_user_for_email(*, email: str, now: datetime) -> LmsUser:
    """The LMS user with this email, else one made from the store's identity of that email."""
    email = email.strip()
    user = LmsUser.objects.filter(email__iexact=email, is_active=True).order_by("created_at").first()
    if user is not None:
        return user
    found = remote.commerce_user_find(email=email)
    if found is None:
        raise LmsUserNotFound(details={"email": email})
    return lms_user_sync_from_commerce(commerce_user_id=found[0], email=found[1], now=now)


@transaction.atomic
def membership_grant(*, user: LmsUser, department: Department, role: str, granted_by: LmsUser | None,
                     now: datetime) -> Membership:
    if role not in StaffRole.values:
        raise DepartmentInvalid(f"Unknown staff role {role!r}.", details={"role": role})
    membership, _ = Membership.objects.get_or_create(user=user, department=department, role=role,
                                                     defaults={"granted_at": now, "granted_by": granted_by})
    if LmsUserType.STAFF not in user.user_types:
        user.user_types = [*user.user_types, LmsUserType.STAFF.value]
        user.save(update_fields=["user_types", "updated_at"])
    return membership


@transaction.atomic
def membership_revoke(*, membership: Membership) -> None:
    membership.delete()
