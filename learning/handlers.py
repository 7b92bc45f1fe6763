"""Messages this app receives through ``integration`` (local adapter or signed webhook)."""

from integration.registry import Delivery
from learning.services.users import lms_user_erase


def user_erased(payload: dict, *, delivery: Delivery) -> dict:
    """Topic ``identity.user_erased`` ``{idempotencyKey, commerceUserId, erasedAt}``: anonymise the LMS user.

    Idempotent: the LMS user stays anonymised and inactive however often this runs.
    """
    lms_user_erase(commerce_user_id=str(payload["commerceUserId"]))
    return {"success": True}
