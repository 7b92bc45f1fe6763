"""Every synchronous call revenue makes to another app, in one place, through the typed ports.

* identity (Commerce): payees' Commerce ids from their emails, the platform's payee;
* learning (LMS): who may change a course's revenue split, a course's title, whether the
  instructor interaction requirement of an enrollment is met, a Commerce user's LMS account.
"""

from dataclasses import dataclass

from integration.errors import ApplicationError, NotFoundError
from integration.ports.identity import identity_port
from integration.ports.learning import learning_port

# The learning app's named rights (learning/permissions.py ``Right``).
REVENUE_MANAGE_RIGHT = "billing:revenue:manage"
COURSE_MANAGE_RIGHT = "content:courses:manage"
PROGRAM_MANAGE_RIGHT = "content:programs:manage"


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


def commerce_roles_of(*, commerce_user_id: str) -> tuple[str, ...]:
    """The Commerce roles identity holds for this account now (empty when it does not know it)."""
    try:
        return tuple(identity_port().user_get(user_id=commerce_user_id).commerce_roles)
    except ApplicationError:
        return ()


def platform_payee() -> Payee | None:
    """The account the platform's share is booked to (``None`` before identity has created it)."""
    try:
        user = identity_port().platform_payee()
    except NotFoundError:
        return None
    return Payee(commerce_user_id=str(user.id), email=user.email)


def revenue_access_check(*, lms_user_id: str, product_type: str, external_id: str) -> bool:
    """The one permission question of this app: may this LMS user see and change this product's revenue split?

    Billing admins (``billing:revenue:manage``) may; so may content admins and department admins of the
    course's department (``content:courses:manage``), unless they are on the course's own staff: a content
    creator or instructor never sets their own share. The learning port scopes rights by course; a program
    is checked as "holds the right somewhere" (``content:programs:manage``).
    """
    if not lms_user_id:
        return False
    port = learning_port()
    course_id = external_id if product_type == "course" else None
    if port.access_check(lms_user_id=lms_user_id, right=REVENUE_MANAGE_RIGHT, course_id=course_id).allowed:
        return True
    manage = COURSE_MANAGE_RIGHT if product_type == "course" else PROGRAM_MANAGE_RIGHT
    if not port.access_check(lms_user_id=lms_user_id, right=manage, course_id=course_id).allowed:
        return False
    if product_type != "course":
        return True
    course = _course(external_id)
    return course is None or all(str(member.lms_user_id) != str(lms_user_id) for member in course.staff)


def revenue_access_anywhere(*, lms_user_id: str) -> bool:
    """Whether this LMS user may manage some product's split at all (the list page asks once, before each row)."""
    if not lms_user_id:
        return False
    port = learning_port()
    return any(port.access_check(lms_user_id=lms_user_id, right=right).allowed
               for right in (REVENUE_MANAGE_RIGHT, COURSE_MANAGE_RIGHT, PROGRAM_MANAGE_RIGHT))


def _course(external_id: str):
    try:
        return learning_port().course_get(external_id=external_id)
    except ApplicationError:
        return None


def course_title(*, product_type: str, external_id: str) -> str:
    """The course's title for pages and records; empty when the learning app does not know it."""
    if product_type != "course":
        return ""
    course = _course(external_id)
    return course.title if course else ""


def interaction_met(*, enrollment_id: str) -> bool:
    """Whether the instructor interaction requirement of this enrollment is met, as learning knows it."""
    try:
        return bool(learning_port().interaction_status(enrollment_id=enrollment_id).eligible)
    except ApplicationError:
        return False


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
