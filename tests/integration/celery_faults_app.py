"""The project's Celery app for the fault tests' workers: every receiver real, and with
``FAULT_SLOW_ENTITLEMENT`` set (a file path) the first entitlement delivery announces itself and hangs,
so the test can SIGKILL the worker in the middle of it."""

import os
import sys
import time
from pathlib import Path

from celery.signals import worker_init

from config.celery import app

__all__ = ["app"]


def _slow_first_entitlement(**kwargs) -> None:
    marker = os.environ.get("FAULT_SLOW_ENTITLEMENT")
    if not marker:
        return
    from integration import registry
    from integration.topics import Topic

    state = registry.snapshot()
    real = state["handlers"][Topic.ENTITLEMENT]

    def hanging(message, *, delivery):
        if not Path(marker).exists():
            Path(marker).touch()
            print("fault: inside the entitlement handler", file=sys.stderr, flush=True)
            time.sleep(120)
        return real(message, delivery=delivery)

    state["handlers"][Topic.ENTITLEMENT] = hanging
    registry.restore(state)


worker_init.connect(_slow_first_entitlement, weak=False)
