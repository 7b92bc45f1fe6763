"""What orders receives from the integration: the LMS's entitlement answers and enrollment approvals."""

from django.utils import timezone

from integration.registry import Delivery
from orders.services.fulfilment import enrollment_status_apply, entitlement_answer_store


def handle_entitlement_reply(message, answer) -> None:
    """Reply handler on topic ``entitlement``: the LMS's answer per item, stored on each line."""
    entitlement_answer_store(order_id=message.order_id, event=message.event, results=answer.results,
                             lms_user_id=answer.lms_user_id or "", now=timezone.now())


def handle_enrollment_status(message, *, delivery: Delivery) -> dict:
    """Topic ``enrollment.status`` (002 connector 2): approved completes the line, rejected refunds it."""
    payload = message.payload
    return enrollment_status_apply(enrollment_id=payload.enrollment_id, event=message.event,
                                   order_id=payload.order_id, order_item_id=payload.order_item_id,
                                   reason=payload.reason or "", now=timezone.now())
