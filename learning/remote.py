"""Everything the LMS sends to, or asks of, the other apps: one module, so the wiring stays in one place.

Messages go through the outbox inside the caller's transaction (never directly); look-ups go
through the typed ports.
"""

from integration.errors import NotFoundError
from integration.outbox import outbox_send, outbox_send_many
from integration.ports.identity import identity_port
from integration.topics import Topic


def catalog_sync_send(*, products: list[dict], aggregate_key: str) -> None:
    """Spec 6.1.2: ``catalog.sync`` with these products (upserts or archives)."""
    outbox_send(topic=Topic.CATALOG_SYNC, payload={"source": "lms", "products": products},
                aggregate_key=aggregate_key)


def enrollment_status_send(*, payload: dict, event: str, order_id: str) -> None:
    """002 connector 2: ``enrollment.approved`` / ``enrollment.rejected`` to Commerce."""
    outbox_send(topic=Topic.ENROLLMENT_STATUS, payload={"source": "lms", "event": event, "payload": payload},
                aggregate_key=f"order:{order_id}", idempotency_key=f"{event}:{payload['enrollmentId']}")


def enrollment_lifecycle_send(*, event: str, payload: dict) -> None:
    """``enrollment.lifecycle`` to the revenue app (the contract is learning's: see integration.contracts)."""
    key = f"{event}:{payload['enrollmentId']}"
    outbox_send(topic=Topic.ENROLLMENT_LIFECYCLE, payload={"source": "lms", "idempotencyKey": key, "event": event, "payload": payload},
                aggregate_key=f"enrollment:{payload['enrollmentId']}")


def staff_role_changed_send(*, event: str, membership_id: int, lms_user_id: str, commerce_user_id: str,
                            department_id: str, role: str, holds_role: bool, changed_at) -> None:
    """``lms.staff_role_changed`` to the revenue app (which maps billing-admin to Commerce's commerce-admin)."""
    key = f"{event}:{membership_id}"
    outbox_send(topic=Topic.STAFF_ROLE_CHANGED, aggregate_key=f"lms-user:{lms_user_id}", payload={
        "source": "lms", "idempotencyKey": key, "event": event, "lmsUserId": lms_user_id,
        "commerceUserId": commerce_user_id, "departmentId": department_id, "role": role, "holdsRole": holds_role,
        "changedAt": changed_at})


def enrollment_lifecycle_send_many(*, event: str, payloads: list[dict]) -> None:
    """:func:`enrollment_lifecycle_send` for several enrollments, written in one statement."""
    messages = []
    for payload in payloads:
        key = f"{event}:{payload['enrollmentId']}"
        messages.append({"topic": Topic.ENROLLMENT_LIFECYCLE, "aggregate_key": f"enrollment:{payload['enrollmentId']}",
                         "payload": {"source": "lms", "idempotencyKey": key, "event": event, "payload": payload}})
    outbox_send_many(messages)


def commerce_user_find(*, email: str) -> tuple[str, str] | None:
    """The Commerce identity with this email, as ``(commerceUserId, email)``, or ``None``."""
    try:
        ref = identity_port().user_find(email=email)
    except NotFoundError:
        return None
    return str(ref.id), ref.email
