"""Typed ports between the apps: ``base.py`` is the mechanism, one module per owning app declares its interface.

==================== ============== ================================ =====================================
port                 declared       implemented (registered in ready) called by
==================== ============== ================================ =====================================
IdentityPort         ports/identity identity/providers.py            learning (SSO, migration), revenue,
                                                                     payouts, service_auth
LearningPort         ports/learning learning/providers.py            identity (phases, data export), catalog
                                                                     (reconciliation), revenue
==================== ============== ================================ =====================================
"""

from integration.ports.base import (
    Port,
    PortMismatchError,
    PortNotImplementedError,
    PortUnavailable,
    implement,
    port_for,
    port_wire_answer,
)

__all__ = ["Port", "PortMismatchError", "PortNotImplementedError", "PortUnavailable", "implement", "port_for",
           "port_wire_answer"]
