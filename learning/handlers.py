"""Messages this app receives through ``integration`` (local adapter or signed webhook), each a typed message."""

from django.utils import timezone

from integration.contracts.identity import Acknowledged, UserErased
from integration.contracts.learning import Entitlement, EntitlementAnswer
from integration.registry import Delivery
from learning.services.entitlements import entitlement_receive
from learning.services.users import lms_user_erase


def user_erased(message: UserErased, *, delivery: Delivery) -> Acknowledged:
    """Topic ``identity.user_erased``: anonymise the LMS user.

    Idempotent: the LMS user stays anonymised and inactive however often this runs.
    """
    lms_user_erase(commerce_user_id=message.commerce_user_id)
    return Acknowledged(success=True)


def entitlement(message: Entitlement, *, delivery: Delivery) -> EntitlementAnswer:
    """Topic ``entitlement`` (spec 6.2.2): grant or revoke per order line; idempotent for good by the line."""
    return EntitlementAnswer.from_wire(entitlement_receive(
        event=message.event, order_id=message.order_id, commerce_user_id=message.commerce_user_id,
        email=message.email, items=message.items, now=timezone.now()))
