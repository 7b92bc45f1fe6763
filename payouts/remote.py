"""Payouts' calls to other apps, all in one place: identity (who a payee is, the platform's account) and the catalog
(what a product is called)."""

from dataclasses import dataclass

from integration.errors import ApplicationError
from integration.ports.base import PortNotImplementedError
from integration.ports.catalog import catalog_port
from integration.ports.identity import identity_port
from integration.ports.learning import learning_port
from integration.ports.orders import orders_port


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


def paid_order_currencies(*, order_ids: list[str]) -> dict[str, str]:
    """Of ``order_ids``, the orders that were paid, with their currency (one in-process call: orders lives
    on this side); an id that is not there was never paid here."""
    if not order_ids:
        return {}
    answer = orders_port().paid_orders(order_ids=sorted(set(order_ids)))
    return {order.order_id: order.currency for order in answer.orders}


def platform_payee_id() -> str | None:
    """The account the platform's share is booked to (None before seed_demo or the admin made it)."""
    try:
        return str(identity_port().platform_payee().id)
    except ApplicationError as error:
        if error.status_code == 404 or error.code == "user_not_found":
            return None
        raise


def product_names(*, external_ids: list[str]) -> dict[str, str]:
    """The catalog's name of each LMS product in ``external_ids`` (unknown ones left out).

    ``CatalogPort`` has no batched look-up by external id (``products_get`` takes Commerce product ids, which
    the revenue events do not carry), so this asks once per id: callers ask only for ids they have not asked
    about lately (``payouts.services.products``), and pages never call it.
    """
    if not external_ids:
        return {}
    try:
        port = catalog_port()
    except PortNotImplementedError:  # a deployment without the catalog: the pages show the ids
        return {}
    names = {}
    for external_id in external_ids:
        try:
            names[external_id] = port.product_by_external_id(external_id=external_id).name
        except ApplicationError as error:
            if error.status_code != 404:
                raise
    return names


def lms_course_ids_by_title(*, titles: set[str]) -> dict[str, str]:
    """The LMS ids of the published courses with these titles (for the demo data), asked page by page."""
    found: dict[str, str] = {}
    cursor = None
    try:
        while True:
            page = learning_port().catalog_export(type="course", limit=100, cursor=cursor)
            found.update({product.name: product.external_id for product in page.products if product.name in titles})
            if not page.pagination.has_more or not page.pagination.next_cursor:
                return found
            cursor = page.pagination.next_cursor
    except (ApplicationError, PortNotImplementedError):
        return found
