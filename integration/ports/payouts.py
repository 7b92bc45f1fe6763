"""``PayoutsPort``: what other apps ask Commerce's payouts app (served on the Commerce side).

Declared here, implemented by ``payouts/providers.py`` (``LocalPayouts``, registered in
``PayoutsConfig.ready()``), served over HTTP at ``routes.PORT_CALLS["payouts.personal_data"]``.
"""

from abc import abstractmethod

from integration.contracts import register_port_contract
from integration.contracts.base import Contract
from integration.contracts.payouts import (
    PayoutsPersonalData,
    PayoutsPersonalDataQuerySerializer,
    PayoutsPersonalDataSerializer,
)
from integration.ports.base import Port, port_for
from integration.routes import COMMERCE

register_port_contract("payouts.personal_data", Contract(PayoutsPersonalDataQuerySerializer,
                                                         PayoutsPersonalDataSerializer, answer=PayoutsPersonalData))


class PayoutsPort(Port):
    name = "payouts"
    side = COMMERCE

    @abstractmethod
    def personal_data(self, *, user_id: str) -> PayoutsPersonalData:
        """A payee's balances, ledger entries, payouts and payout settings (secrets masked)."""


def payouts_port() -> PayoutsPort:
    return port_for(PayoutsPort)
