"""The entitlement receiver (spec 6.2.2): grants and revokes per Commerce order line, in any order.

The order line is the permanent key (``EntitlementLine.line_key``, unique in the database): a
grant claims the line by inserting it, so two deliveries of the same grant (even at the same
moment, even under different inbox keys) enroll once; a revoke that comes first inserts the line
as ``revoked``, so the late grant answers ``failed`` with ``revoked`` and enrolls nobody; a revoke
for a line never granted answers as done.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from learning.errors import ClassFull, NotPublished
from learning.models import Course, CourseClass, EnrollmentSource, EntitlementLine, Program, PublishStatus
from learning.services.enrollments import enrollment_open, enrollment_revoke_locked
from learning.services.users import lms_user_sync_from_commerce

GRANTED = "entitlement.granted"
REVOKED = "entitlement.revoked"


class _ItemFailed(Exception):
    def __init__(self, error: str):
        self.error = error


def _get(item: Any, name: str, wire: str):
    """An item field from the typed message (attribute) or the wire dict (camelCase key)."""
    if isinstance(item, dict):
        return item.get(wire)
    return getattr(item, name, None)


def line_key(*, order_id: str, order_item_id: str | None, product_type: str, external_id: str) -> str:
    return f"item:{order_item_id}" if order_item_id else f"order:{order_id}:{product_type}:{external_id}"


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _load_products(items: Sequence) -> dict[tuple[str, str], Any]:
    """Every product the items name, three queries at most, keyed by (type, externalId)."""
    wanted: dict[str, set] = {"course": set(), "program": set(), "class": set()}
    for item in items:
        parsed = _as_uuid(_get(item, "external_id", "externalId"))
        kind = _get(item, "product_type", "productType")
        if parsed and kind in wanted:
            wanted[kind].add(parsed)
    found: dict[tuple[str, str], Any] = {}
    if wanted["course"]:
        found |= {("course", str(c.pk)): c for c in Course.objects.filter(pk__in=wanted["course"])}
    if wanted["program"]:
        found |= {("program", str(p.pk)): p for p in Program.objects.filter(pk__in=wanted["program"])}
    if wanted["class"]:
        found |= {("class", str(k.pk)): k
                  for k in CourseClass.objects.select_related("course").filter(pk__in=wanted["class"])}
    return found


def _result(external_id: str, status: str, *, enrollment_id=None, order_item_id=None, error=None) -> dict:
    result = {"externalId": external_id, "status": status}
    if enrollment_id:
        result["enrollmentId"] = str(enrollment_id)
    if order_item_id:
        result["orderItemId"] = order_item_id
    if error:
        result["error"] = error
    return result


def _answer_from_line(line: EntitlementLine, *, external_id: str, order_item_id: str | None) -> dict:
    if line.state == EntitlementLine.State.REVOKED:
        return _result(external_id, "failed", enrollment_id=line.enrollment_id, order_item_id=order_item_id,
                       error="revoked")
    return _result(external_id, line.result_status or "granted", enrollment_id=line.enrollment_id,
                   order_item_id=order_item_id)


def _grant_item(*, user, order_id: str, commerce_user_id: str, item, key: str, product, now: datetime) -> dict:
    product_type = _get(item, "product_type", "productType")
    external_id = _get(item, "external_id", "externalId")
    order_item_id = _get(item, "order_item_id", "orderItemId")
    if product is None:
        raise _ItemFailed("unknown_product")
    offering = product.course if product_type == "class" else product
    if offering.status == PublishStatus.ARCHIVED or (product_type == "class"
                                                     and product.status == PublishStatus.ARCHIVED):
        raise _ItemFailed("archived")
    if offering.status != PublishStatus.PUBLISHED:
        raise _ItemFailed("unknown_product")
    metadata = _get(item, "metadata", "metadata") or {}
    line = EntitlementLine.objects.create(
        line_key=key, order_id=order_id, order_item_id=order_item_id or "", product_type=product_type,
        external_id=external_id, commerce_user_id=commerce_user_id, state=EntitlementLine.State.GRANTED,
        granted_at=now, created_at=now)
    amount = metadata.get("amount")
    try:
        opened = enrollment_open(
            user=user, course=product if product_type == "course" else None,
            program=product if product_type == "program" else None,
            course_class=product if product_type == "class" else None,
            source=EnrollmentSource.COMMERCE, granted_at=_get(item, "granted_at", "grantedAt") or now,
            expires_at=_get(item, "expires_at", "expiresAt"), order_id=order_id, order_item_id=order_item_id or "",
            amount=Decimal(str(amount)) if amount is not None else None, currency=metadata.get("currency") or "",
            transaction_id=metadata.get("transactionId") or "", extra=metadata, now=now)
    except ClassFull:
        raise _ItemFailed("class_full") from None
    except NotPublished:
        raise _ItemFailed("archived") from None
    line.enrollment = opened.enrollment
    line.created_enrollment = opened.outcome != "already_enrolled"
    line.result_status = opened.outcome
    line.save(update_fields=["enrollment", "created_enrollment", "result_status"])
    return _result(external_id, opened.outcome, enrollment_id=opened.enrollment.pk, order_item_id=order_item_id)


def _revoke_item(*, order_id: str, commerce_user_id: str, item, key: str, now: datetime) -> dict:
    product_type = _get(item, "product_type", "productType")
    external_id = _get(item, "external_id", "externalId")
    order_item_id = _get(item, "order_item_id", "orderItemId")
    metadata = _get(item, "metadata", "metadata") or {}
    line = EntitlementLine.objects.select_for_update().filter(line_key=key).first()
    if line is None:
        try:
            with transaction.atomic():
                EntitlementLine.objects.create(
                    line_key=key, order_id=order_id, order_item_id=order_item_id or "", product_type=product_type,
                    external_id=external_id, commerce_user_id=commerce_user_id,
                    state=EntitlementLine.State.REVOKED, revoked_at=now, created_at=now)
            return _result(external_id, "revoked", order_item_id=order_item_id)
        except IntegrityError:  # the grant claimed the line meanwhile: revoke what it made
            line = EntitlementLine.objects.select_for_update().get(line_key=key)
    if line.state != EntitlementLine.State.REVOKED:
        if line.enrollment_id and line.created_enrollment:
            from learning.models import Enrollment

            enrollment = (Enrollment.objects.select_for_update(of=("self",))
                          .select_related("user", "course", "program").get(pk=line.enrollment_id))
            amount = metadata.get("amount")
            enrollment_revoke_locked(enrollment=enrollment, reason="refund", now=now,
                                     refund_amount=Decimal(str(amount)) if amount is not None else None,
                                     currency=metadata.get("currency") or "")
        line.state = EntitlementLine.State.REVOKED
        line.revoked_at = now
        line.save(update_fields=["state", "revoked_at"])
    return _result(external_id, "revoked", enrollment_id=line.enrollment_id, order_item_id=order_item_id)


@transaction.atomic
def entitlement_receive(*, event: str, order_id: str, commerce_user_id: str, email: str, items: Sequence,
                        now: datetime) -> dict:
    """Handles one ``entitlement`` message; answers spec 6.2.2's ``EntitlementGrantResponse``."""
    user = lms_user_sync_from_commerce(commerce_user_id=commerce_user_id, email=email, now=now)
    keys = [line_key(order_id=order_id, order_item_id=_get(item, "order_item_id", "orderItemId"),
                     product_type=_get(item, "product_type", "productType"),
                     external_id=_get(item, "external_id", "externalId")) for item in items]
    results = []
    if event == REVOKED:
        for item, key in zip(items, keys, strict=True):
            results.append(_revoke_item(order_id=order_id, commerce_user_id=commerce_user_id, item=item, key=key,
                                        now=now))
        return {"success": True, "results": results, "lmsUserId": str(user.pk)}

    seen = {line.line_key: line for line in EntitlementLine.objects.filter(line_key__in=keys)}
    products = _load_products(items)
    for item, key in zip(items, keys, strict=True):
        external_id = _get(item, "external_id", "externalId")
        order_item_id = _get(item, "order_item_id", "orderItemId")
        if key in seen:
            results.append(_answer_from_line(seen[key], external_id=external_id, order_item_id=order_item_id))
            continue
        product = products.get((_get(item, "product_type", "productType"), str(external_id)))
        try:
            with transaction.atomic():
                results.append(_grant_item(user=user, order_id=order_id, commerce_user_id=commerce_user_id,
                                           item=item, key=key, product=product, now=now))
        except _ItemFailed as failure:
            results.append(_result(external_id, "failed", order_item_id=order_item_id, error=failure.error))
        except IntegrityError:
            # Another delivery of this line committed first (PostgreSQL waits for it on the unique index).
            line = EntitlementLine.objects.get(line_key=key)
            results.append(_answer_from_line(line, external_id=external_id, order_item_id=order_item_id))
        if results[-1]["status"] != "failed":  # the same line twice in one message answers the same
            seen[key] = EntitlementLine(line_key=key, state=EntitlementLine.State.GRANTED,
                                        enrollment_id=results[-1].get("enrollmentId"),
                                        result_status=results[-1]["status"])
    success = all(result["status"] != "failed" for result in results)
    return {"success": success, "results": results, "lmsUserId": str(user.pk)}
