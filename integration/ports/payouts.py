"""``PayoutsPort``: what other apps ask Commerce's payouts app (served on the Commerce side).

Declared here, implemented by ``payouts/providers.py`` (``LocalPayouts``, registered in
``PayoutsConfig.ready()``), served over HTTP at ``routes.PORT_CALLS["payouts.*"]``.
"""

from abc import abstractmethod

from integration.contracts import register_port_contract
from integration.contracts.base import Contract
from integration.contracts.payouts import (
    LedgerSalePage,
    LedgerSalePageSerializer,
    LedgerSalesQuerySerializer,
    PayoutsPersonalData,
    PayoutsPersonalDataQuerySerializer,
    PayoutsPersonalDataSerializer,
)
from integration.ports.base import Port, port_for
from integration.routes import COMMERCE

register_port_contract("payouts.personal_data", Contract(PayoutsPersonalDataQuerySerializer,
                                                         PayoutsPersonalDataSerializer, answer=PayoutsPersonalData))
register_port_contract("payouts.ledger_sales", Contract(LedgerSalesQuerySerializer, LedgerSalePageSerializer,
                                                        answer=LedgerSalePage))


class PayoutsPort(Port):
    name = "payouts"
    side = COMMERCE

    @abstractmethod
    def personal_data(self, *, user_id: str) -> PayoutsPersonalData:
        """A payee's balances, ledger entries, payouts and payout settings (secrets masked)."""

    @abstractmethod
    def ledger_sales(self, *, after: str | None = None, limit: int | None = None) -> LedgerSalePage:
        """Every sale and refund posted to the ledger (order, product, gross, the sale a refund reverses), by
        posting id, one keyset page after ``after`` (default 500, at most 1000): what ``manage.py reconcile
        sales`` compares with the paid order lines."""


def payouts_port() -> PayoutsPort:
    return port_for(PayoutsPort)
