"""Messages revenue receives: ``enrollment.lifecycle`` from the learning app, and ``identity.user_erased``
after learning has answered it (an extra handler, in the same transaction); one service call each."""

from dataclasses import asdict, is_dataclass

from django.utils import timezone

from integration.contracts.identity import UserErased
from integration.contracts.learning import EnrollmentLifecycleAnswer, StaffRoleChanged
from integration.registry import Delivery
from revenue.services.erasure import account_erase, erased_among
from revenue.services.lifecycle import LIFECYCLE_EVENTS, lifecycle_event_record
from revenue.services.roles import billing_admin_role_sync


def _wire(message) -> dict:
    if hasattr(message, "to_wire"):
        return message.to_wire()
    if is_dataclass(message):
        return asdict(message)
    return dict(message)


def enrollment_lifecycle(message, *, delivery: Delivery) -> dict:
    """``{source, idempotencyKey, event, payload}``; events other than the five known are acknowledged, unused."""
    wire = _wire(message)
    payload = wire.get("payload") or {}
    payload = payload.to_wire() if hasattr(payload, "to_wire") else dict(payload)
    event = str(wire.get("event") or "")
    if event not in LIFECYCLE_EVENTS:
        return {"success": True, "status": "ignored"}
    key = str(wire.get("idempotencyKey") or delivery.idempotency_key)
    # The delivery (the outbox's, or the inbox's for a message received over HTTP) runs this in its
    # transaction and rolls it back whole on any exception: no savepoint of the service's own.
    outcome = lifecycle_event_record(idempotency_key=key, event=event, payload=payload, now=timezone.now(),
                                     savepoint=False)
    return {"success": True, "status": outcome.status}


def user_erased(message: UserErased, *, delivery: Delivery) -> None:
    """The person's emails leave revenue's records; their shares and earnings stay under the same id."""
    account_erase(commerce_user_id=message.commerce_user_id, erased_at=message.erased_at, now=timezone.now())


def staff_role_changed(message: StaffRoleChanged, *, delivery: Delivery) -> EnrollmentLifecycleAnswer:
    """Topic ``lms.staff_role_changed`` (learning): a billing-admin membership granted or removed. ``holdsRole``
    says whether the person still is one in any department, so the last removal revokes ``commerce-admin``
    (when BILLING_ADMIN_MAPS_TO_COMMERCE_ADMIN is on; off, nothing is sent)."""
    if erased_among([message.commerce_user_id]):
        return EnrollmentLifecycleAnswer(success=True, status="ignored")
    changed = billing_admin_role_sync(commerce_user_id=message.commerce_user_id, is_billing_admin=message.holds_role,
                                      now=timezone.now())
    return EnrollmentLifecycleAnswer(success=True, status="changed" if changed else "unchanged")
