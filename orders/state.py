"""The order state machine: every status change goes through :func:`order_transition`.

``pending`` → ``paid`` → ``completed``; ``payment_failed`` (a new attempt may still pay);
``partially_refunded`` and ``refunded`` after money went back; ``canceled`` before any did.
"""

from datetime import datetime

from orders.errors import InvalidOrderTransition
from orders.models import Order, OrderEvent
from orders.models import OrderStatus as S

TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.PAID, S.PAYMENT_FAILED, S.CANCELED}),
    S.PAYMENT_FAILED: frozenset({S.PAID, S.CANCELED}),
    S.PAID: frozenset({S.COMPLETED, S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.COMPLETED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.REFUNDED: frozenset(),
    S.CANCELED: frozenset(),
}
PAID_STATES = frozenset({S.PAID, S.COMPLETED, S.PARTIALLY_REFUNDED})
PAYABLE_STATES = frozenset({S.PENDING, S.PAYMENT_FAILED})


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def order_transition(*, order: Order, to: str, now: datetime, actor: str = "", message: str = "",
                     also_save: tuple[str, ...] = (), data: dict | None = None,
                     timeline: list[OrderEvent] | None = None, unsaved: list[str] | None = None) -> Order:
    """Moves ``order`` (locked by the caller) to ``to`` or raises 409 ``invalid_order_transition``.

    ``also_save`` names other fields the caller changed, written in the same UPDATE. With ``timeline``
    the status event is appended to it, for the caller to write with its own events in one INSERT.
    With ``unsaved`` the fields to write are added to it instead, for the caller to write (in the
    same transaction) with another table's UPDATE.
    """
    if not can_transition(order.status, to):
        raise InvalidOrderTransition(details={"from": order.status, "to": str(to)})
    previous = order.status
    order.status = to
    order.updated_at = now
    fields = ["status", "updated_at", *also_save]
    if to == S.PAID:
        order.paid_at = now
        fields.append("paid_at")
    if to == S.COMPLETED:
        order.completed_at = now
        fields.append("completed_at")
    if unsaved is None:
        order.save(update_fields=fields)
    else:
        unsaved.extend(name for name in fields if name not in unsaved)
    event = OrderEvent(order=order, kind=OrderEvent.Kind.STATUS, actor=actor, created_at=now,
                       message=message or f"Order {S(to).label.lower()}.",
                       data={"from": previous, "to": str(to), **(data or {})})
    if timeline is None:
        event.save()
    else:
        timeline.append(event)
    return order
