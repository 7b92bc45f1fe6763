"""The project's Celery app with a trivial ``catalog.sync`` receiver: the broker-restart test's worker runs it."""

import time

from celery.signals import worker_init, worker_process_init

from config.celery import app

__all__ = ["app"]


def _use_trivial_receiver(**kwargs) -> None:
    from integration import registry

    def receiver(message, *, delivery) -> dict:
        time.sleep(0.2)  # deliveries in flight (unacknowledged, acks-late) when the broker goes
        return {"success": True, "processed": 1, "results": []}

    state = registry.snapshot()
    state["handlers"]["catalog.sync"] = receiver
    state["replies"]["catalog.sync"] = []
    registry.restore(state)


worker_init.connect(_use_trivial_receiver, weak=False)
worker_process_init.connect(_use_trivial_receiver, weak=False)
