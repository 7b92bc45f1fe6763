"""Every synchronous call revenue makes to another app, in one place, through the typed ports.

* identity (Commerce): payees' Commerce ids from their emails, the platform's payee;
* learning (LMS): who may change a course's revenue split, a course's title, whether the
  instructor interaction requirement of an enrollment is met.

The learning port's ``access_check``, ``course_get`` and ``interaction_status`` are added by the
learning app; while a deployment's port lacks one, the fallback written beside it applies.
"""

from dataclasses import dataclass

from integration.errors import ApplicationError, NotFoundError
from integration.ports.identity import identity_port
from integration.ports.learning import learning_port

# The learning app's named right for changing revenue splits (learning/permissions.py ``Right``).
REVENUE_MANAGE_RIGHT = "billing:revenue:manage"
GLOBAL_ADMIN = "global-admin"


@dataclass(frozen=True)
class Payee:
    commerce_user_id: str
    email: str


def payee_find(*, email: str) -> Payee | None:
    """The Commerce account with this email, or ``None`` when there is none."""
    try:
        user = identity_port().user_find(email=email)
    except NotFoundError:
        return None
    except ApplicationError as exc:
        if exc.code == "user_not_found":
            return None
        raise
    return Payee(commerce_user_id=str(user.id), email=user.email)


def platform_payee() -> Payee | None:
    """The account the platform's share is booked to (``None`` before identity has created it)."""
    try:
        user = identity_port().platform_payee()
    except NotFoundError:
        return None
    return Payee(commerce_user_id=str(user.id), email=user.email)


def revenue_access_check(*, lms_user_id: str, user_types: tuple[str, ...] | list[str], product_type: str,
                         external_id: str) -> bool:
    """The one permission question of this app: may this LMS user change this product's revenue split?

    Asked of the learning app's ``access_check`` (content admins and department admins of the
    course's department). Without it, only LMS global admins may.
    """
    if not lms_user_id:
        return False
    port = learning_port()
    check = getattr(port, "access_check", None)
    if check is not None and product_type == "course":
        return bool(check(lms_user_id=lms_user_id, right=REVENUE_MANAGE_RIGHT, course_id=external_id))
    return GLOBAL_ADMIN in tuple(user_types or ())


def course_title(*, product_type: str, external_id: str) -> str:
    """The course's title for pages and records; empty when the learning app cannot say."""
    port = learning_port()
    getter = getattr(port, "course_get", None)
    if getter is None or product_type != "course":
        return ""
    try:
        course = getter(external_id=external_id)
    except ApplicationError:
        return ""
    return str(getattr(course, "title", "") or "")


def interaction_met(*, enrollment_id: str) -> bool:
    """Whether the instructor interaction requirement of this enrollment is met, as learning knows it."""
    port = learning_port()
    status = getattr(port, "interaction_status", None)
    if status is None:
        return False
    try:
        answer = status(enrollment_id=enrollment_id)
    except ApplicationError:
        return False
    for name in ("met", "eligible", "interaction_met"):
        if hasattr(answer, name):
            return bool(getattr(answer, name))
    return bool(answer)


def lms_user_id_of(*, commerce_user_id: str) -> str:
    """The LMS user id of a Commerce user (for the role grant's audit metadata), or empty."""
    try:
        user = learning_port().sso_user(commerce_user_id=commerce_user_id)
    except ApplicationError:
        return ""
    return str(user.lms_user_id or "") if user.exists else ""


def lms_caller_from_token(*, token: str) -> dict | None:
    """A Commerce access token's user as LMS caller fields (or ``None``): identity validates, learning maps."""
    from integration.ports.identity import validate_token_cached

    validation = validate_token_cached(token=token)
    if not validation.valid or not validation.user_id:
        return None
    try:
        user = learning_port().sso_user(commerce_user_id=str(validation.user_id))
    except ApplicationError:
        return None
    if not user.exists or not user.lms_user_id:
        return None
    return {"lms_user_id": str(user.lms_user_id), "commerce_user_id": str(validation.user_id),
            "email": validation.email or "", "user_types": tuple(user.user_types or ())}
