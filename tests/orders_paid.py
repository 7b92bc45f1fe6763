"""The orders port for tests that post revenue events for orders no checkout made.

The ledger refuses a sale whose order was never paid at Commerce (``OrdersPort.paid_orders``). Tests that
post events directly declare their orders: ``placed`` maps an order id to its currency, and with
``any_currency`` every other id counts as paid in it too. Real orders answer as always.
"""

import pytest

from integration.contracts.orders import PaidOrder, PaidOrders
from integration.ports.base import implementation_of, override
from integration.ports.orders import OrdersPort
from orders.providers import LocalOrders


class OrdersPaidHere(LocalOrders):
    def __init__(self, placed: dict[str, str], *, any_currency: str | None = None):
        self.placed = placed
        self.any_currency = any_currency

    def paid_orders(self, *, order_ids: list[str]) -> PaidOrders:
        known = {order.order_id: order.currency for order in super().paid_orders(order_ids=order_ids).orders}
        for order_id in order_ids:
            currency = self.placed.get(order_id, self.any_currency)
            if order_id not in known and currency:
                known[order_id] = currency
        return PaidOrders(orders=tuple(PaidOrder(order_id=order_id, currency=currency)
                                       for order_id, currency in known.items()))


def orders_paid_fixture(*, placed: dict[str, str] | None = None, any_currency: str | None = None):
    """An autouse fixture for a module or conftest: yields ``placed`` (a new dict unless given) and
    restores the real port after the test."""

    @pytest.fixture(autouse=True)
    def orders_paid():
        real = implementation_of(OrdersPort)
        orders = placed if placed is not None else {}
        override(OrdersPort, OrdersPaidHere(orders, any_currency=any_currency))
        yield orders
        override(OrdersPort, real)

    return orders_paid
