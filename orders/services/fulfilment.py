"""Entitlements: the grant and revoke messages to the LMS (outbox), and what the LMS answers per line.

The grant goes through the outbox in the transaction that marks the order paid; the
LMS's answer comes back to :func:`entitlement_answer_store` (the outbox's reply handler),
and approvals or rejections to :func:`enrollment_status_apply`. Either may come first,
twice, or late: each line only moves forward (pending → failed → pending_approval →
granted; revoked is final), so every order of arrival ends the same.
"""

import uuid
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, QuerySet, Value, When
from django.db.models.functions import Cast

from integration.db import update_together
from integration.mail import send_templated_email
from integration.outbox import outbox_send
from integration.topics import Topic
from orders import remote
from orders.errors import OrderNotFound, UnknownOrderLine
from orders.models import (
    EnrollmentStatusReceipt,
    EntitlementStatus,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
)
from orders.state import order_transition

E = EntitlementStatus
RANK = {E.PENDING: 0, E.FAILED: 1, E.PENDING_APPROVAL: 2, E.GRANTED: 3}
WAITING = frozenset({E.PENDING, E.PENDING_APPROVAL})  # lines whose final answer is still to come
LMS_ANSWER_TO_STATUS = {"granted": E.GRANTED, "already_enrolled": E.GRANTED, "pending_approval": E.PENDING_APPROVAL,
                        "failed": E.FAILED, "revoked": E.REVOKED}


def _item(line: OrderLine, order: Order, *, refund_amount: Decimal | None = None) -> dict:
    metadata = {"orderId": str(order.id), "transactionId": order.transaction_id, "amount": str(line.revenue_amount),
                "currency": order.currency, "grossAmount": str(line.revenue_amount),
                "processorFee": str(line.processor_fee), "orderItemId": str(line.id)}
    if line.bundle_product_id:
        metadata["bundleProductId"] = line.bundle_product_id
    if refund_amount is not None:
        metadata["refundAmount"] = str(refund_amount)
    return {"productType": line.product_type, "externalId": line.external_id, "orderItemId": str(line.id),
            "grantedAt": (order.paid_at or order.created_at).isoformat(), "metadata": metadata}


# Why a grant was sent again, in the timeline's words.
GRANT_REASONS = {"retry": "no answer yet", "payment": "after the payment"}


def entitlement_grant_send(*, order: Order, now: datetime, lines: list[OrderLine] | None = None,
                           reason: str = "payment", actor: str = "", email: str | None = None,
                           counted: bool = False, timeline: list[OrderEvent] | None = None) -> None:
    """Writes ``entitlement.granted`` for the order's lines (or ``lines``) to the outbox, in the caller's transaction.

    ``counted``: the caller has already counted this grant on the order (and saves it). ``timeline``:
    the timeline event is appended there for the caller to write (else it is written now).
    """
    lines = lines if lines is not None else [line for line in order.lines.all()
                                             if line.entitlement_status != E.REVOKED]
    if not lines:
        return
    if not counted:
        order.grants_sent += 1
        order.last_grant_at = now
        order.save(update_fields=["grants_sent", "last_grant_at"])
    key = f"grant:{order.id}:{order.grants_sent}"
    outbox_send(topic=Topic.ENTITLEMENT, aggregate_key=f"order:{order.id}", payload={
        "event": "entitlement.granted", "idempotencyKey": key, "orderId": str(order.id),
        "commerceUserId": str(order.user_id), "email": email or remote.user_get(user_id=str(order.user_id)).email,
        "items": [_item(line, order) for line in lines]})
    count = len(lines)
    items = "your item" if count == 1 else f"your {count} items"
    message = (f"Asked the learning platform to enroll you in {items}." if order.grants_sent == 1 else
               f"Asked the learning platform again (attempt {order.grants_sent}, {GRANT_REASONS.get(reason, reason)}) "
               f"to enroll you in {items}.")
    event = OrderEvent(order=order, kind=OrderEvent.Kind.ENTITLEMENT, created_at=now, actor=actor, message=message,
                       data={"idempotencyKey": key, "lines": [str(line.id) for line in lines]})
    if timeline is None:
        event.save()
    else:
        timeline.append(event)


def entitlement_revoke_send(*, order: Order, refunds: dict[OrderLine, Decimal], now: datetime, key: str,
                            email: str | None = None, timeline: list[OrderEvent] | None = None) -> None:
    """Writes ``entitlement.revoked`` for refunded lines, each item carrying the amount given back."""
    if not refunds:
        return
    outbox_send(topic=Topic.ENTITLEMENT, aggregate_key=f"order:{order.id}", payload={
        "event": "entitlement.revoked", "idempotencyKey": key, "orderId": str(order.id),
        "commerceUserId": str(order.user_id), "email": email or remote.user_get(user_id=str(order.user_id)).email,
        "items": [_item(line, order, refund_amount=amount) for line, amount in refunds.items()]})
    event = OrderEvent(order=order, kind=OrderEvent.Kind.ENTITLEMENT, created_at=now,
                       message="Asked the learning platform to remove access to the refunded "
                               f"{'item' if len(refunds) == 1 else f'{len(refunds)} items'}.",
                       data={"idempotencyKey": key, "lines": [str(line.id) for line in refunds]})
    if timeline is None:
        event.save()
    else:
        timeline.append(event)


def _line_for(order: Order, lines: dict, *, order_item_id: str | None, external_id: str | None) -> OrderLine | None:
    if order_item_id and order_item_id in lines:
        return lines[order_item_id]
    return next((line for line in lines.values() if line.external_id == external_id), None)


def _advance(line: OrderLine, status: str, *, now: datetime, enrollment_id: str = "", error: str = "") -> bool:
    """Moves a line forward only; answers whether it changed."""
    changed = False
    if enrollment_id and not line.enrollment_id:
        line.enrollment_id, changed = enrollment_id[:64], True
    if line.entitlement_status == E.REVOKED:
        return changed
    if status == E.REVOKED or RANK[status] > RANK[line.entitlement_status] or (
            status == E.FAILED and line.entitlement_status == E.FAILED and error != line.entitlement_error):
        line.entitlement_status = status
        line.entitlement_error = error[:500] if status in (E.FAILED, E.REVOKED) else ""
        line.entitlement_answered_at = now
        changed = True
    return changed


def is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _lock_order(order_id, *, fields: tuple[str, ...] = ()) -> Order:
    """The order, locked; ``fields``: only these columns (the row is wide)."""
    queryset = Order.objects.select_for_update()
    if fields:
        queryset = queryset.only(*fields)
    order = queryset.filter(pk=order_id).first() if is_uuid(order_id) else None
    if order is None:
        raise OrderNotFound(details={"orderId": str(order_id)})
    return order


def lines_save(lines: list[OrderLine], fields: list[str]) -> None:
    """Writes ``fields`` of ``lines`` in one UPDATE (a plain one for a single line, else by CASE)."""
    if lines:
        queryset, values = lines_update(lines, fields)
        queryset.update(**values)


def lines_update(lines: list[OrderLine], fields: list[str]) -> tuple[QuerySet, dict]:
    """The UPDATE writing ``fields`` of (some) ``lines``, as ``(queryset, values)``: a plain one for a
    single line, else one CASE per field (what ``bulk_update`` writes, in one statement)."""
    if len(lines) == 1:
        (line,) = lines
        return OrderLine.objects.filter(pk=line.pk), {name: getattr(line, name) for name in fields}
    values = {}
    for name in fields:
        field = OrderLine._meta.get_field(name)
        case = Case(*(When(pk=line.pk, then=Value(getattr(line, name), output_field=field)) for line in lines),
                    output_field=field)
        values[name] = Cast(case, output_field=field) if connection.features.requires_casted_case_in_updates \
            else case
    return OrderLine.objects.filter(pk__in=[line.pk for line in lines]), values


# What storing the LMS's answer reads of the order and its lines.
ANSWER_ORDER_FIELDS = ("id", "number", "user_id", "status", "lms_user_id")
ANSWER_LINE_FIELDS = ("id", "order_id", "external_id", "name", "entitlement_status", "enrollment_id",
                      "entitlement_error", "entitlement_answered_at", "total", "refunded_amount")
ANSWER_WRITTEN_LINE_FIELDS = ["entitlement_status", "enrollment_id", "entitlement_error", "entitlement_answered_at"]


def _in_model_order(model, names: tuple[str, ...]) -> tuple[str, ...]:
    """``names`` (attnames) in the model's column order, the order ``Model.from_db`` takes values in."""
    return tuple(field.attname for field in model._meta.concrete_fields if field.attname in names)


def order_and_lines_locked(*, order_id, order_fields: tuple[str, ...], line_fields: tuple[str, ...],
                           user_id=None, lines_locked: bool = True) -> tuple[Order, list[OrderLine]] | None:
    """The order (of ``user_id``, when given) and its lines by position, these columns only, read by one
    statement that locks the order's row (and, with ``lines_locked``, the lines' rows); ``None`` when
    no such order has lines (the caller locks it alone).

    The order's table comes first in the join, so its row is locked before any line's, as every other
    writer of lines does (order, then lines): an approval arriving meanwhile waits, it does not deadlock.
    A locked row that changed while this waited is read again after the wait, as a second statement
    would; a row that is not locked (the lines, without ``lines_locked``) is as it was when the
    statement began, so only columns no one changes once the order is placed may be read that way.
    """
    if not is_uuid(order_id):
        return None
    order_fields, line_fields = _in_model_order(Order, order_fields), _in_model_order(OrderLine, line_fields)
    queryset = Order.objects.select_for_update(**({} if lines_locked else {"of": ("self",)}))
    if user_id is not None:
        queryset = queryset.filter(user_id=user_id)
    rows = list(queryset.filter(pk=order_id, lines__isnull=False).order_by("lines__position")
                .values_list(*order_fields, *(f"lines__{name}" for name in line_fields)))
    if not rows:
        return None
    width, alias = len(order_fields), queryset.db
    order = Order.from_db(alias, order_fields, rows[0][:width])
    lines = []
    for row in rows:
        line = OrderLine.from_db(alias, line_fields, row[width:])
        line.order = order
        lines.append(line)
    return order, lines


@transaction.atomic(savepoint=False)  # the delivery's transaction; a failure rolls the whole delivery back
def entitlement_answer_store(*, order_id: str, event: str, results, lms_user_id: str, now: datetime) -> Order:
    """Stores the LMS's answer to a grant or revoke, per line; completes the order once every line is answered.

    A fixed number of statements whatever the number of lines: the order and its lines locked by one
    SELECT; the changed lines and the order (its LMS user id and status) written by one UPDATE on
    PostgreSQL (``update_together``); the timeline in one INSERT.
    """
    locked = order_and_lines_locked(order_id=order_id, order_fields=ANSWER_ORDER_FIELDS,
                                    line_fields=ANSWER_LINE_FIELDS)
    order, lines = locked or (_lock_order(order_id, fields=ANSWER_ORDER_FIELDS), [])
    lines = {str(line.id): line for line in lines}
    order_fields = []
    if lms_user_id and order.lms_user_id != lms_user_id:
        order.lms_user_id = lms_user_id[:64]
        order_fields.append("lms_user_id")
    timeline: list[OrderEvent] = []
    changed: dict[str, OrderLine] = {}
    newly_pending_approval, already_had = [], []
    for result in results:
        line = _line_for(order, lines, order_item_id=result.order_item_id, external_id=result.external_id)
        if line is None:
            continue
        status = LMS_ANSWER_TO_STATUS.get(result.status, E.FAILED)
        if event == "entitlement.granted" and status == E.REVOKED:
            status = E.FAILED
        if event == "entitlement.revoked" and status != E.REVOKED:
            timeline.append(OrderEvent(order=order, kind=OrderEvent.Kind.ENTITLEMENT, created_at=now,
                                       message=f"The learning platform could not remove access to {line.name}: "
                                               f"{result.error or result.status}."))
            continue
        error = f"The learning platform refused the item: {result.error}" if status == E.FAILED else ""
        before = line.entitlement_status
        if _advance(line, status, now=now, enrollment_id=result.enrollment_id or "", error=error):
            changed[str(line.id)] = line
            if line.entitlement_status != before:
                already = result.status == "already_enrolled" and line.entitlement_status == E.GRANTED
                timeline.append(OrderEvent(order=order, kind=OrderEvent.Kind.ENTITLEMENT, created_at=now,
                                           message=_plain_answer(line, already_enrolled=already),
                                           data={"line": str(line.id), "answer": result.status}))
                if line.entitlement_status == E.PENDING_APPROVAL:
                    newly_pending_approval.append(line)
                elif already and event == "entitlement.granted":
                    # Paid for access the buyer already had: nothing new was given, so the line is refunded
                    # (its revoke then leaves the LMS's earlier enrollment, which this line did not open).
                    already_had.append(line)
    if newly_pending_approval:
        _email(order, "orders/pending_approval", {"items": [line.name for line in newly_pending_approval]})
    if already_had:  # the refund reads the lines as stored: written first
        lines_save(list(changed.values()), ANSWER_WRITTEN_LINE_FIELDS)
        changed.clear()
        answered = order
        order = _refund_already_had(order_id, already_had, timeline=timeline, now=now)
        for name in order_fields:  # the order read again after the refund has not got them yet
            setattr(order, name, getattr(answered, name))
    order_complete_if_answered(order=order, lines=list(lines.values()), now=now, timeline=timeline,
                               unsaved=order_fields)
    update_together(*([lines_update(list(changed.values()), ANSWER_WRITTEN_LINE_FIELDS)] if changed else []),
                    *([(Order.objects.filter(pk=order.pk), {name: getattr(order, name) for name in order_fields})]
                      if order_fields else []))
    if timeline:
        OrderEvent.objects.bulk_create(timeline)
    return order


def _refund_already_had(order_id: str, lines: list[OrderLine], *, timeline: list[OrderEvent], now: datetime) -> Order:
    """Refunds the lines the buyer already had; answers the order, read whole (a refund uses every column)."""
    from orders.services.refunds import refund_for_already_enrolled

    order = _lock_order(order_id)
    if timeline:  # the answer's events first, then the refund's
        OrderEvent.objects.bulk_create(timeline)
        timeline.clear()
    for line in lines:
        refund_for_already_enrolled(order=order, line=line, now=now)
    return order


def _plain_answer(line: OrderLine, *, already_enrolled: bool = False) -> str:
    if already_enrolled:
        refunded = "; this item is refunded" if line.refundable_amount > 0 else ""
        return f"You were already enrolled in {line.name}{refunded}."
    return {
        E.GRANTED: f"You are enrolled in {line.name}.",
        E.PENDING_APPROVAL: f"{line.name} needs the department's approval; we will email you.",
        E.FAILED: f"Enrollment in {line.name} did not go through yet ({line.entitlement_error}); we are retrying.",
        E.REVOKED: f"Access to {line.name} was removed.",
    }.get(line.entitlement_status, f"{line.name}: {line.get_entitlement_status_display()}.")


def order_complete_if_answered(*, order: Order, lines: list[OrderLine], now: datetime, also_save: tuple = (),
                               timeline: list[OrderEvent] | None = None, unsaved: list[str] | None = None) -> bool:
    """Completes a paid order once every line has the LMS's final answer (enrolled, refused or revoked);
    a line waiting for the department's approval keeps the order paid until it is approved or rejected.
    Answers whether it completed the order. ``unsaved``: as for :func:`order_transition`."""
    if order.status == OrderStatus.PAID and all(line.entitlement_status not in WAITING for line in lines):
        order_transition(order=order, to=OrderStatus.COMPLETED, now=now, also_save=also_save, timeline=timeline,
                         unsaved=unsaved, message="Order completed: the learning platform has settled every item.")
        return True
    return False


def enrollment_status_apply(*, enrollment_id: str, event: str, order_id: str, order_item_id: str,
                            reason: str, now: datetime) -> dict:
    """``enrollment.approved`` completes the line; ``enrollment.rejected`` ends it and refunds it (once, for good)."""
    try:
        with transaction.atomic():
            receipt = EnrollmentStatusReceipt.objects.create(enrollment_id=enrollment_id[:64], event=event[:32],
                                                             order_id=order_id[:64], order_item_id=order_item_id[:64],
                                                             received_at=now)
            return _enrollment_status_apply(receipt=receipt, reason=reason, now=now)
    except IntegrityError:
        receipt = EnrollmentStatusReceipt.objects.filter(enrollment_id=enrollment_id[:64], event=event[:32]).first()
        if receipt is None:
            raise
        line = OrderLine.objects.filter(pk=receipt.order_item_id).only("entitlement_status").first()
        return {"success": True, "orderId": receipt.order_id, "orderItemId": receipt.order_item_id,
                "entitlementStatus": line.entitlement_status if line else ""}


def _enrollment_status_apply(*, receipt: EnrollmentStatusReceipt, reason: str, now: datetime) -> dict:
    if not (is_uuid(receipt.order_id) and is_uuid(receipt.order_item_id)):
        raise UnknownOrderLine(details={"orderId": receipt.order_id, "orderItemId": receipt.order_item_id})
    try:
        order = _lock_order(receipt.order_id)
    except OrderNotFound:
        raise UnknownOrderLine(details={"orderId": receipt.order_id, "orderItemId": receipt.order_item_id}) from None
    lines = {str(line.id): line for line in order.lines.select_for_update()}
    line = lines.get(receipt.order_item_id)
    if line is None:
        raise UnknownOrderLine(details={"orderId": receipt.order_id, "orderItemId": receipt.order_item_id})
    if receipt.event == "enrollment.approved":
        if _advance(line, E.GRANTED, now=now, enrollment_id=receipt.enrollment_id):
            line.save()
            OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.APPROVAL, created_at=now,
                                      message=f"Your enrollment in {line.name} was approved.")
        receipt.outcome = f"line {line.entitlement_status}"
    else:
        from orders.services.refunds import refund_for_rejection

        _advance(line, E.REVOKED, now=now, enrollment_id=receipt.enrollment_id,
                 error=f"Enrollment rejected{': ' + reason if reason else ''}")
        line.save()
        OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.APPROVAL, created_at=now,
                                  message=f"Your enrollment in {line.name} was not approved"
                                          f"{' (' + reason + ')' if reason else ''}; it is refunded.")
        refund = refund_for_rejection(order=order, line=line, reason=reason, now=now)
        receipt.outcome = f"rejected, refunded {refund.amount if refund else 0}"
    receipt.save(update_fields=["outcome"])
    order_complete_if_answered(order=order, lines=list(lines.values()), now=now)
    return {"success": True, "orderId": str(order.id), "orderItemId": str(line.id),
            "entitlementStatus": line.entitlement_status}


def _email(order: Order, template: str, extra: dict) -> None:
    buyer = remote.user_get(user_id=str(order.user_id))
    if not buyer.reachable:
        return
    send_templated_email(to=buyer.email, template=template, context={
        "order_number": order.number, "order_id": str(order.id), **extra})
