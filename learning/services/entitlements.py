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

from integration.db import insert_ignore
from learning.errors import ClassFull, EntitlementLineBusy
from learning.models import EnrollmentSource, EntitlementLine, PublishStatus
from learning.services.enrollments import (
    EnrollmentBatch,
    OpenRequest,
    enrollment_revoke_locked,
    offerings_to_open,
)
from learning.services.users import lms_user_ensure_from_commerce, lms_user_sync_from_commerce

GRANTED = "entitlement.granted"
REVOKED = "entitlement.revoked"


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
    return offerings_to_open(course_ids=wanted["course"], program_ids=wanted["program"], class_ids=wanted["class"])


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


def _refusal(product_type: str, product) -> str | None:
    """Why this product cannot be granted (before anything is written), or ``None``."""
    if product is None:
        return "unknown_product"
    offering = product.course if product_type == "class" else product
    if offering.status == PublishStatus.ARCHIVED or (product_type == "class"
                                                     and product.status == PublishStatus.ARCHIVED):
        return "archived"
    if offering.status != PublishStatus.PUBLISHED:
        return "unknown_product"
    return None


def _open_request(item, product, *, order_id: str, now: datetime) -> OpenRequest:
    product_type = _get(item, "product_type", "productType")
    metadata = _get(item, "metadata", "metadata") or {}
    amount = metadata.get("amount")
    return OpenRequest(
        course=product if product_type == "course" else None, program=product if product_type == "program" else None,
        course_class=product if product_type == "class" else None, source=EnrollmentSource.COMMERCE,
        granted_at=_get(item, "granted_at", "grantedAt") or now, expires_at=_get(item, "expires_at", "expiresAt"),
        order_id=order_id, order_item_id=_get(item, "order_item_id", "orderItemId") or "",
        amount=Decimal(str(amount)) if amount is not None else None, currency=metadata.get("currency") or "",
        transaction_id=metadata.get("transactionId") or "", extra=metadata)


def _line_outcome(outcome) -> tuple[Any, bool, str] | None:
    """What a line keeps of its enrollment's opening: ``(enrollment id, created it, answer)``; ``None`` if none."""
    if outcome is None or isinstance(outcome, Exception):
        return None
    return outcome.enrollment.pk, outcome.outcome != "already_enrolled", outcome.outcome


def _grant_items(*, user, user_is_new: bool, order_id: str, commerce_user_id: str, items: Sequence,
                 keys: list[str], now: datetime) -> list[dict]:
    """The grant of every item, in a number of queries that does not grow with the items.

    The items are checked against their products (read once) and their enrollments planned
    (:class:`EnrollmentBatch`: ids made, nothing written). The lines of the grantable ones are then
    claimed, each with its planned enrollment, in one statement that skips a line someone else
    holds (``ON CONFLICT DO NOTHING``; on PostgreSQL it waits for a concurrent delivery of the same
    line to commit, then skips it) and says which it wrote: those are ours, and only theirs are
    opened (planned again if some were not ours). A line naming an enrollment not inserted yet is
    fine: the foreign key is checked at commit. The lines not ours, and those of items refused,
    are read once and answer from their row when they exist (a line seen before answers the same,
    whatever its product or class is now). Where the opening ended otherwise than planned (a
    concurrent grant opened the enrollment first), the line is corrected.
    """
    products = _load_products(items)
    answers: dict[str, dict] = {}  # by line key: the same line twice in one message answers the same
    refused: dict[str, tuple[Any, str]] = {}
    to_claim: dict[str, tuple[Any, Any]] = {}
    for item, key in zip(items, keys, strict=True):
        if key in refused or key in to_claim:
            continue
        product_type = _get(item, "product_type", "productType")
        product = products.get((product_type, str(_get(item, "external_id", "externalId"))))
        refusal = _refusal(product_type, product)
        if refusal:
            refused[key] = (item, refusal)
        else:
            to_claim[key] = (item, product)

    claiming = list(to_claim)
    batch = EnrollmentBatch(user=user, requests=[_open_request(item, product, order_id=order_id, now=now)
                                                 for item, product in to_claim.values()], now=now,
                            user_is_new=user_is_new)
    outcomes = batch.plan(range(len(claiming)))
    planned = [_line_outcome(outcome) for outcome in outcomes]
    for key, outcome in zip(claiming, outcomes, strict=True):
        if isinstance(outcome, Exception):  # decided before any write: no line, unless one was there
            refused[key] = (to_claim[key][0], "class_full" if isinstance(outcome, ClassFull) else "archived")
    rows = []
    for key, line in zip(claiming, planned, strict=True):
        if line is None:
            continue
        item = to_claim[key][0]
        rows.append({"line_key": key, "order_id": order_id,
                     "order_item_id": _get(item, "order_item_id", "orderItemId") or "",
                     "product_type": _get(item, "product_type", "productType"),
                     "external_id": _get(item, "external_id", "externalId"), "commerce_user_id": commerce_user_id,
                     "state": EntitlementLine.State.GRANTED, "enrollment": line[0], "created_enrollment": line[1],
                     "result_status": line[2], "result_error": "", "granted_at": now, "revoked_at": None,
                     "created_at": now})
    claimed = dict(insert_ignore(EntitlementLine, rows, conflict=["line_key"], returning=("line_key", "pk")))
    not_ours = [row["line_key"] for row in rows if row["line_key"] not in claimed]

    others = not_ours + list(refused)
    if others:
        seen = {line.line_key: line for line in EntitlementLine.objects.filter(line_key__in=others)
                .only("line_key", "state", "enrollment_id", "result_status")}
        for key in others:
            item, refusal = refused.get(key) or (to_claim[key][0], None)
            external_id = _get(item, "external_id", "externalId")
            order_item_id = _get(item, "order_item_id", "orderItemId")
            if key in seen:
                answers[key] = _answer_from_line(seen[key], external_id=external_id, order_item_id=order_item_id)
            elif refusal:
                answers[key] = _result(external_id, "failed", order_item_id=order_item_id, error=refusal)
            else:  # the line someone else held is gone again: theirs rolled back, so this one may retry
                raise EntitlementLineBusy(details={"lineKey": key})

    ours = [index for index, key in enumerate(claiming) if key in claimed]
    if not_ours:
        batch.plan(ours)
    opened = batch.open()
    fixed, undone = [], []
    for index in ours:
        key, outcome = claiming[index], opened[index]
        item = to_claim[key][0]
        external_id = _get(item, "external_id", "externalId")
        order_item_id = _get(item, "order_item_id", "orderItemId")
        line = _line_outcome(outcome)
        if line is None:
            undone.append(claimed[key])
            error = "class_full" if isinstance(outcome, ClassFull) else "archived"
            answers[key] = _result(external_id, "failed", order_item_id=order_item_id, error=error)
            continue
        if line != planned[index]:
            fixed.append(EntitlementLine(pk=claimed[key], enrollment_id=line[0], created_enrollment=line[1],
                                         result_status=line[2]))
        answers[key] = _result(external_id, line[2], enrollment_id=line[0], order_item_id=order_item_id)
    if fixed:
        EntitlementLine.objects.bulk_update(fixed, ["enrollment", "created_enrollment", "result_status"])
    if undone:
        EntitlementLine.objects.filter(pk__in=undone).delete()
    return [{**answers[key], "externalId": _get(item, "external_id", "externalId")}
            for item, key in zip(items, keys, strict=True)]


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


@transaction.atomic(savepoint=False)  # no caller goes on in a transaction this raised in (see the docstring)
def entitlement_receive(*, event: str, order_id: str, commerce_user_id: str, email: str, items: Sequence,
                        now: datetime) -> dict:
    """Handles one ``entitlement`` message; answers spec 6.2.2's ``EntitlementGrantResponse``.

    Inside a delivery's transaction it takes no savepoint of its own: what raises here ends that
    transaction (the local delivery rolls back its attempt, the webhook's inbox block rolls back).
    """
    keys = [line_key(order_id=order_id, order_item_id=_get(item, "order_item_id", "orderItemId"),
                     product_type=_get(item, "product_type", "productType"),
                     external_id=_get(item, "external_id", "externalId")) for item in items]
    if event == REVOKED:
        user = lms_user_sync_from_commerce(commerce_user_id=commerce_user_id, email=email, now=now)
        results = [_revoke_item(order_id=order_id, commerce_user_id=commerce_user_id, item=item, key=key, now=now)
                   for item, key in zip(items, keys, strict=True)]
        return {"success": True, "results": results, "lmsUserId": str(user.pk)}

    # A grant often comes for someone the LMS has not seen yet: the insert is tried first.
    user, user_is_new = lms_user_ensure_from_commerce(commerce_user_id=commerce_user_id, email=email, now=now)
    results = _grant_items(user=user, user_is_new=user_is_new, order_id=order_id, commerce_user_id=commerce_user_id,
                           items=items, keys=keys, now=now)
    success = all(result["status"] != "failed" for result in results)
    return {"success": success, "results": results, "lmsUserId": str(user.pk)}
