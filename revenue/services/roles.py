"""Commerce roles that follow from the LMS (spec 4.3): ``payee`` for revenue shares, ``commerce-admin`` for billing admins.

The grant or revoke travels to identity through the outbox, in the caller's
transaction. ``RoleMapping`` remembers what was asked, so a repeated sync sends nothing; a role
identity already held before this app asked (given by hand) is left alone, then and later.
"""

from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from integration.outbox import outbox_send
from integration.topics import Topic
from revenue import remote
from revenue.models import RevenueConfig, RoleMapping
from revenue.services.erasure import erased_among

PAYEE = "payee"
COMMERCE_ADMIN = "commerce-admin"


def payees_with_share(*, today: date, commerce_user_ids: set[str] | None = None) -> set[str]:
    """Commerce users named with a share above 0 in a config in force today or later."""
    configs = RevenueConfig.objects.filter(superseded_at__isnull=True).filter(
        Q(end_date__isnull=True) | Q(end_date__gt=today))
    found: set[str] = set()
    for field in ("instructor", "creator", "affiliate"):
        ids = configs.filter(**{f"{field}_bps__gt": 0}).exclude(**{f"{field}_commerce_user_id": ""})
        if commerce_user_ids is not None:
            ids = ids.filter(**{f"{field}_commerce_user_id__in": commerce_user_ids})
        found.update(ids.values_list(f"{field}_commerce_user_id", flat=True))
    return found - erased_among(found)  # an erased account is granted nothing again


def _role_set(*, commerce_user_id: str, role: str, granted: bool, reason: str, now: datetime,
              email: str = "", course_ids: tuple[str, ...] = ()) -> bool:
    """Asks identity to grant or revoke ``role`` unless this app already asked; True when a message was sent."""
    mapping, _ = RoleMapping.objects.select_for_update().get_or_create(
        commerce_user_id=commerce_user_id, role=role, defaults={"email": email, "updated_at": now})
    if mapping.held_before or (mapping.granted == granted and mapping.changes):
        return False
    if granted and role in remote.commerce_roles_of(commerce_user_id=commerce_user_id):
        # Someone else gave it (an admin by hand, say): asking again would make it this app's to revoke.
        mapping.held_before = True
        mapping.updated_at = now
        mapping.save(update_fields=["held_before", "updated_at"])
        return False
    mapping.granted = granted
    mapping.changes += 1
    mapping.updated_at = now
    if email:
        mapping.email = email
    mapping.save()
    key = f"revenue.role:{commerce_user_id}:{role}:{mapping.changes}"
    if granted:
        payload = {"userId": commerce_user_id, "role": role, "reason": reason}
        lms_user_id = remote.lms_user_id_of(commerce_user_id=commerce_user_id)
        if lms_user_id:
            payload["metadata"] = {"lmsUserId": lms_user_id, **({"courseIds": list(course_ids)} if course_ids else {})}
        outbox_send(topic=Topic.ROLE_GRANT, payload=payload, aggregate_key=f"revenue:user:{commerce_user_id}",
                    idempotency_key=key)
    else:
        outbox_send(topic=Topic.ROLE_REVOKE, payload={"userId": commerce_user_id, "role": role, "reason": reason},
                    aggregate_key=f"revenue:user:{commerce_user_id}", idempotency_key=key)
    return True


@transaction.atomic
def payee_roles_sync(*, commerce_user_ids: set[str], now: datetime, course_ids: tuple[str, ...] = (),
                     emails: dict[str, str] | None = None) -> dict[str, bool]:
    """Grants ``payee`` to those of ``commerce_user_ids`` who hold a share now or later, revokes it from the rest.

    Only users this app granted the role to are ever revoked, so a payee made by hand keeps the role.
    Returns who was changed (id → granted).
    """
    holders = payees_with_share(today=now.date(), commerce_user_ids=set(commerce_user_ids))
    changed: dict[str, bool] = {}
    for user_id in sorted(commerce_user_ids):
        has_share = user_id in holders
        if not has_share and not RoleMapping.objects.filter(commerce_user_id=user_id, role=PAYEE,
                                                            granted=True).exists():
            continue
        reason = ("assigned a revenue share" + (f" of {', '.join(course_ids)}" if course_ids else "")
                  if has_share else "no revenue share left")
        if _role_set(commerce_user_id=user_id, role=PAYEE, granted=has_share, reason=reason, now=now,
                     email=(emails or {}).get(user_id, ""), course_ids=course_ids):
            changed[user_id] = has_share
    return changed


@transaction.atomic
def payee_role_ensure(*, commerce_user_id: str, now: datetime, course_ids: tuple[str, ...] = ()) -> bool:
    """Grants ``payee`` to someone a sale pays (the enrollment's own instructor), if not asked already."""
    if RoleMapping.objects.filter(commerce_user_id=commerce_user_id, role=PAYEE, granted=True).exists():
        return False
    if erased_among([commerce_user_id]):
        return False
    return _role_set(commerce_user_id=commerce_user_id, role=PAYEE, granted=True, now=now, course_ids=course_ids,
                     reason="paid a revenue share as the enrollment's instructor")


@transaction.atomic
def billing_admin_role_sync(*, commerce_user_id: str, is_billing_admin: bool, now: datetime) -> bool:
    """An LMS billing-admin becomes a ``commerce-admin`` when BILLING_ADMIN_MAPS_TO_COMMERCE_ADMIN is on.

    Losing the LMS role revokes what this app granted. With the setting off nothing is sent.
    """
    if not settings.BILLING_ADMIN_MAPS_TO_COMMERCE_ADMIN:
        return False
    if not is_billing_admin and not RoleMapping.objects.filter(
            commerce_user_id=commerce_user_id, role=COMMERCE_ADMIN, granted=True).exists():
        return False
    reason = "LMS billing-admin" if is_billing_admin else "no longer an LMS billing-admin"
    return _role_set(commerce_user_id=commerce_user_id, role=COMMERCE_ADMIN, granted=is_billing_admin,
                     reason=reason, now=now)
