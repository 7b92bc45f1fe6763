"""Memberships (staff roles per department) and finding the LMS user behind an email."""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integration.mail import send_templated_email
from learning import remote
from learning.errors import DepartmentInvalid, LmsUserNotFound
from learning.models import Department, LmsUser, LmsUserType, Membership, StaffRole
from learning.services.users import lms_user_mailable, lms_user_sync_from_commerce
from learning.web import lms_url


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


# Staff roles that map to a Commerce role: their grant and removal tell the revenue app (which asks identity).
MAPPED_ROLES = {StaffRole.BILLING_ADMIN}


def _role_change_send(*, membership: Membership, event: str, now: datetime) -> None:
    """``lms.staff_role_changed`` for a mapped role, when the mapping is on and the person has a Commerce id."""
    user = membership.user
    if (membership.role not in MAPPED_ROLES or not user.commerce_user_id
            or not settings.BILLING_ADMIN_MAPS_TO_COMMERCE_ADMIN):
        return
    holds = Membership.objects.filter(user=user, role=membership.role).exclude(pk=membership.pk).exists() or (
        event == "membership.granted")
    remote.staff_role_changed_send(event=event, membership_id=membership.pk, lms_user_id=str(user.pk),
                                   commerce_user_id=user.commerce_user_id, department_id=str(membership.department_id),
                                   role=membership.role, holds_role=holds, changed_at=now)


@transaction.atomic
def membership_grant(*, user: LmsUser, department: Department, role: str, granted_by: LmsUser | None,
                     now: datetime) -> Membership:
    if role not in StaffRole.values:
        raise DepartmentInvalid(f"Unknown staff role {role!r}.", details={"role": role})
    membership, created = Membership.objects.get_or_create(user=user, department=department, role=role,
                                                           defaults={"granted_at": now, "granted_by": granted_by})
    if LmsUserType.STAFF not in user.user_types:
        user.user_types = [*user.user_types, LmsUserType.STAFF.value]
        user.save(update_fields=["user_types", "updated_at"])
    if created:
        _role_change_send(membership=membership, event="membership.granted", now=now)
        _membership_email(membership=membership)
    return membership


_STAFF_ROLE_WORDS = {
    StaffRole.INSTRUCTOR: ("an", "instructor", "you teach its courses: learners, grading and interactions.",
                           "/lms/teach/"),
    StaffRole.CONTENT_ADMIN: ("a", "content admin", "you manage its courses, programs, classes and exams.",
                              "/lms/admin/"),
    StaffRole.DEPARTMENT_ADMIN: ("a", "department admin", "you manage everything in it: people, courses, "
                                 "programs, classes and enrollment approvals.", "/lms/admin/"),
    StaffRole.BILLING_ADMIN: ("a", "billing admin", "you see and set how the revenue of its courses is shared.",
                              "/lms/revenue/"),
}


def _membership_email(*, membership: Membership) -> None:
    """A notice to the person given a staff role (after the commit): who may do what is a security matter."""
    user = membership.user
    if not lms_user_mailable(user):
        return
    article, label, meaning, path = _STAFF_ROLE_WORDS[membership.role]
    send_templated_email(to=user.email, template="lms_membership_granted", context={
        "role": membership.role, "role_article": article, "role_label": label, "role_meaning": meaning,
        "department": membership.department.name, "area_url": lms_url(path)})


@transaction.atomic
def membership_revoke(*, membership: Membership, now: datetime | None = None) -> None:
    membership = Membership.objects.select_related("user").select_for_update(of=("self",)).get(pk=membership.pk)
    _role_change_send(membership=membership, event="membership.revoked", now=now or timezone.now())
    membership.delete()
