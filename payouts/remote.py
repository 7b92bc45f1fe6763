"""Payouts' calls to other apps, all in one place: identity (who a payee is, the platform's account)."""

from dataclasses import dataclass

from integration.errors import ApplicationError
from integration.ports.identity import identity_port


@dataclass(frozen=True)
class Payee:
    id: str
    email: str
    roles: tuple[str, ...]


def payee_get(*, user_id: str) -> Payee | None:
    """The Commerce user ``user_id``, or None when there is no such user."""
    try:
        user = identity_port().user_get(user_id=str(user_id))
    except ApplicationError as error:
        if error.status_code == 404 or error.code == "user_not_found":
            return None
        raise
    return Payee(id=str(user.id), email=user.email, roles=tuple(user.commerce_roles))


def platform_payee_id() -> str | None:
    """The account the platform's share is booked to (None before seed_demo or the admin made it)."""
    try:
        return str(identity_port().platform_payee().id)
    except ApplicationError as error:
        if error.status_code == 404 or error.code == "user_not_found":
            return None
        raise
