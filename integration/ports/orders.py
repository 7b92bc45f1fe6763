"""``OrdersPort``: what other Commerce apps ask the orders app.

Declared here, implemented by ``orders/providers.py`` (``LocalOrders``, registered in
``OrdersConfig.ready()``). Identity is its caller (the data download) and lives on the
same side, so ``orders_port()`` answers the registered implementation in process.
"""

from abc import abstractmethod

from integration.contracts.orders import OrdersPersonalData, PaidLinePage, PaidOrders
from integration.ports.base import Port, PortNotImplementedError, implementation_of
from integration.routes import COMMERCE


class OrdersPort(Port):
    name = "orders"
    side = COMMERCE

    @abstractmethod
    def personal_data(self, *, user_id: str) -> OrdersPersonalData:
        """The buyer's orders, lines, payments and refunds (an erased buyer's orders stay, anonymised)."""

    @abstractmethod
    def paid_lines(self, *, after: str | None = None, limit: int | None = None) -> PaidLinePage:
        """Lines of every order that was paid (paid, completed, partially or fully refunded), by line id, one
        keyset page after ``after``: what ``manage.py reconcile enrollments`` compares with the LMS."""

    @abstractmethod
    def paid_orders(self, *, order_ids: list[str]) -> PaidOrders:
        """Which of ``order_ids`` are orders that were paid (paid, completed, partially or fully refunded),
        with their currency; the others are left out. The revenue ledger refuses events for unknown orders."""


def orders_port() -> OrdersPort:
    implementation = implementation_of(OrdersPort)
    if implementation is None:
        raise PortNotImplementedError("OrdersPort has no implementation: is the orders app installed "
                                      "(it is served by the Commerce side only)?")
    return implementation
