import os

from celery import Celery
from celery.worker.consumer import Consumer

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _already_collected() -> None:
    """``Connection.close`` after ``collect()``: collect has already released the channels and the socket."""


class BrokerLossSafeConsumer(Consumer):
    """Celery's consumer, without the crash that a broker restart caused in celery 5.7.0.

    On a lost broker connection celery 5.7.0 calls ``connection.collect()`` and
    then, new in 5.7.0, ``connection.close()``. ``collect()`` has already closed
    the channels and detached the transport from the connection
    (``transport.client = None``); ``close()`` closes the default channel again,
    and its QoS restores the unacknowledged messages (any task in flight, with
    ``acks_late``) through a new Redis pool built from that detached client:
    ``AttributeError: 'NoneType' object has no attribute 'hostname'`` escapes
    ``ignore_errors`` and the worker stops ("Unrecoverable error"). An idle worker
    survives, which is why it struck 4 restarts in 5 under load and none at rest.
    Celery 5.6.3 does not call ``close()`` there, and nor does this consumer: the
    unacknowledged messages come back after the broker's visibility timeout, and
    the outbox sweep delivers the rows they were about long before that.
    """

    def on_connection_error_after_connected(self, exc):
        if self.connection is not None:
            self.connection.close = self.connection.release = _already_collected
        super().on_connection_error_after_connected(exc)


app = Celery("cadence")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.worker_consumer = f"{__name__}:BrokerLossSafeConsumer"
app.autodiscover_tasks()
