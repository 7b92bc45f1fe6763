"""Commerce roles (000_... section 4.1): grant and revoke, idempotent, every request audited.

``purchaser`` is implicit for every user and never stored. ``payee`` and
``commerce-admin`` are rows of :class:`UserRole`. An actor is a user id,
``service:<client id>`` or ``system:<what>``; service actors may only touch
``commerce-admin`` when BILLING_ADMIN_MAPS_TO_COMMERCE_ADMIN is on.
"""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from identity import caching
from identity.errors import InvalidRole, ReasonRequired, RoleNotGrantable, UserInactive, UserNotFound
from identity.models import STORED_ROLES, Role, RoleAuditLog, User, UserRole
from identity.selectors import user_roles
from integration.mail import send_templated_email

SERVICE_ACTOR_PREFIX = "service:"
SYSTEM_ACTOR_PREFIX = "system:"


def actor_for_user(user) -> str:
    return str(user.pk)


def actor_for_service(client_id: str) -> str:
    return f"{SERVICE_ACTOR_PREFIX}{client_id}"


def actor_for_system(what: str) -> str:
    return f"{SYSTEM_ACTOR_PREFIX}{what}"


@dataclass(frozen=True)
class RoleChange:
    user_id: str
    commerce_roles: list[str]
    changed: bool

    def as_wire(self) -> dict:
        """Spec 6.1.4's GrantRoleResponse."""
        return {"success": True, "user": {"id": self.user_id, "commerceRoles": list(self.commerce_roles)}}


def _check_role(*, role: str, actor: str, reason: str) -> None:
    if not reason or not reason.strip():
        raise ReasonRequired("Say why: a reason is required for the audit log.")
    if role not in {r.value for r in STORED_ROLES}:
        raise InvalidRole(f"'{role}' cannot be granted or revoked: purchaser is implicit for every user, "
                          "and the others are payee and commerce-admin.", details={"role": role})
    if (role == Role.COMMERCE_ADMIN and actor.startswith(SERVICE_ACTOR_PREFIX)
            and not settings.BILLING_ADMIN_MAPS_TO_COMMERCE_ADMIN):
        raise RoleNotGrantable("Service callers may not change commerce-admin "
                               "(BILLING_ADMIN_MAPS_TO_COMMERCE_ADMIN is off).", details={"role": role})


def _locked_user(user_id) -> User:
    try:
        uuid.UUID(str(user_id))
    except ValueError:
        raise UserNotFound(details={"userId": str(user_id)}) from None
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise UserNotFound(details={"userId": str(user_id)})
    return user


def _forget_identity(user_id: str) -> None:
    # Now (so a read in this transaction is not served stale) and after commit (so a concurrent
    # read that cached the old roles before the commit is dropped too).
    caching.user_identity_forget(user_id)
    transaction.on_commit(lambda: caching.user_identity_forget(user_id))


_ROLE_WORDS = {
    Role.PAYEE: ("payee", "you receive your share of the sales of the courses you teach or create, and payouts "
                          "of it."),
    Role.COMMERCE_ADMIN: ("commerce admin", "you can open the store's administration (orders, refunds, "
                                            "products, coupons, payouts)."),
}


def _role_change_told(*, role: str, actor: str) -> bool:
    """Whether identity emails the person: not for a payee role the LMS grants or revokes (its revenue-share
    emails, new or ended, say more), nor for a system change (the platform's account is nobody's inbox)."""
    if actor.startswith(SYSTEM_ACTOR_PREFIX):
        return False
    return not (role == Role.PAYEE and actor.startswith(SERVICE_ACTOR_PREFIX))


def _role_email(user: User, role: str, template: str) -> None:
    """A security notice to the person whose roles changed, after the commit."""
    label, meaning = _ROLE_WORDS.get(role, (role, ""))
    send_templated_email(to=user.email, template=template,
                         context={"role": str(role), "role_label": label, "role_meaning": meaning})


@transaction.atomic
def role_grant(*, user_id, role: str, reason: str, actor: str, metadata: dict | None = None) -> RoleChange:
    _check_role(role=role, actor=actor, reason=reason)
    user = _locked_user(user_id)
    if not user.is_active:
        raise UserInactive("The account is not active, so it cannot receive a role.")
    changed = False
    if not UserRole.objects.filter(user=user, role=role).exists():
        try:
            with transaction.atomic():
                UserRole.objects.create(user=user, role=role, granted_by=actor[:255], granted_at=timezone.now())
            changed = True
        except IntegrityError:
            changed = False
    RoleAuditLog.objects.create(user_id=user.pk, role=role, action=RoleAuditLog.Action.GRANT, actor=actor[:255],
                                reason=reason[:1000], metadata=metadata or {}, changed=changed)
    _forget_identity(str(user.pk))
    if changed and _role_change_told(role=role, actor=actor):
        _role_email(user, role, "identity/role_granted")
    return RoleChange(user_id=str(user.pk), commerce_roles=user_roles(user_id=user.pk), changed=changed)


@transaction.atomic
def role_revoke(*, user_id, role: str, reason: str, actor: str, metadata: dict | None = None) -> RoleChange:
    _check_role(role=role, actor=actor, reason=reason)
    user = _locked_user(user_id)
    deleted, _ = UserRole.objects.filter(user=user, role=role).delete()
    RoleAuditLog.objects.create(user_id=user.pk, role=role, action=RoleAuditLog.Action.REVOKE, actor=actor[:255],
                                reason=reason[:1000], metadata=metadata or {}, changed=bool(deleted))
    _forget_identity(str(user.pk))
    if deleted and user.is_active and _role_change_told(role=role, actor=actor):
        _role_email(user, role, "identity/role_revoked")
    return RoleChange(user_id=str(user.pk), commerce_roles=user_roles(user_id=user.pk), changed=bool(deleted))
