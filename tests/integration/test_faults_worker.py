"""A real Celery worker on a private Redis: SIGKILLed in the middle of a delivery, and Redis restarted
under deliveries. The purchases are real (API, test gateway); the worker delivers the grants, the LMS
enrolls, revenue events reach the ledger. After each recovery ``reconcile all`` finds no difference.

Each test starts its own redis-server and worker processes (new sessions) and kills them at the end,
whatever happens. The worker's outbox lease is 3 s (``OUTBOX_LEASE_SECONDS``) so a killed delivery is
retried in seconds instead of a minute.
"""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from integration import outbox, tasks
from integration.models import DeliveryAttempt, OutboxMessage
from integration.topics import Topic
from orders.models import Order
from tests.integration.faults import (
    assert_consistent,
    assert_zero_differences,
    buy,
    people,
    publish_course,
    reconcile_all,
)
from tests.integration.test_broker_restart import Broker
from tests.integration.test_broker_restart import Worker as BrokerRestartWorker

BASE_DIR = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 3

pytestmark = [
    pytest.mark.postgres,  # the worker is another process: it needs the test database on a server
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (CI sets REDIS_URL)"),
    pytest.mark.skipif(not shutil.which("redis-server"),
                       reason="needs redis-server to run a broker of its own"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:task_always_eager has no effect on send_task"),
]


class Worker(BrokerRestartWorker):
    """``celery worker --pool solo``: one process, so SIGKILL takes the delivery in flight with it."""

    APP = "tests.integration.celery_faults_app"
    OPTIONS = ("--pool", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat")

    def extra_environment(self, env: dict[str, str]) -> dict[str, str]:
        # A slow entitlement handler only where the test asks for one (not inherited from this process).
        return {"OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS), "OUTBOX_HTTP_TIMEOUT_SECONDS": "1",
                "FAULT_SLOW_ENTITLEMENT": "", **env}

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def processes():
    """Everything a test starts, killed at its end whatever happened."""
    started: list = []
    yield started
    for thing in reversed(started):
        try:
            thing.kill() if isinstance(thing, Worker) else thing.stop()
        except Exception:  # a teardown kills what it can
            if getattr(thing, "process", None) is not None and thing.process.poll() is None:
                thing.process.kill()


@pytest.fixture
def enqueue_to(monkeypatch):
    """The test process enqueues its deliveries to the private broker (a lost enqueue is logged, like the real one)."""
    from config.celery import app

    def use(broker: Broker) -> None:
        def enqueue(message_id) -> None:
            try:
                with app.connection_for_write(broker.url) as connection:
                    # send_task, not apply_async: the test process's app runs tasks eagerly.
                    app.send_task(tasks.outbox_deliver.name, kwargs={"message_id": str(message_id)},
                                  connection=connection, retry=False)
            except Exception:  # the row is committed: the sweep delivers it
                pass

        monkeypatch.setattr(outbox, "_enqueue_delivery", enqueue)

    return use


def _wait(condition, *, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}: " + repr(list(
        OutboxMessage.objects.exclude(status="delivered").values_list("topic", "status", "attempts", "last_error"))))


def _all_done(order_ids) -> bool:
    return (Order.objects.filter(pk__in=order_ids, status="completed").count() == len(order_ids)
            and not OutboxMessage.objects.exclude(status=OutboxMessage.Status.DELIVERED).exists())


def _sweep(broker: Broker) -> None:
    """What beat does every 15 s, sent to the worker (retried while Redis comes back)."""
    from config.celery import app

    deadline = time.monotonic() + 30
    while True:
        try:
            with app.connection_for_write(broker.url) as connection:
                app.send_task(tasks.outbox_sweep.name, connection=connection, retry=False)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_a_worker_killed_inside_a_delivery_and_a_new_one_started(api_client, tmp_path, processes, enqueue_to):
    who = people()
    course = publish_course(title="Killed worker")  # in process, before the broker takes over
    broker = Broker(tmp_path)
    broker.start()
    processes.append(broker)
    first = Worker(broker.url, FAULT_SLOW_ENTITLEMENT=str(tmp_path / "hung-once"))
    processes.append(first)
    first.wait_for("ready")
    enqueue_to(broker)

    order_id = buy(api_client, who["learner"], course)
    first.wait_for("fault: inside the entitlement handler")
    first.kill()  # SIGKILL, mid-delivery
    grant = OutboxMessage.objects.get(topic=Topic.ENTITLEMENT)
    assert (grant.status, grant.attempts, Order.objects.get(pk=order_id).status) == ("pending", 1, "paid")
    assert DeliveryAttempt.objects.get(message=grant).outcome == "started"

    second = Worker(broker.url)
    processes.append(second)
    second.wait_for("ready")
    time.sleep(LEASE_SECONDS + 0.5)  # the dead worker's lease runs out
    _sweep(broker)
    _wait(lambda: _all_done([order_id]), what="the new worker to deliver")
    grant.refresh_from_db()
    assert grant.attempts == 2
    assert list(grant.delivery_attempts.order_by("number").values_list("outcome", flat=True)) == ["error", "success"]
    assert_zero_differences(reconcile_all())
    assert_consistent()


def test_redis_restarted_during_deliveries(api_client, tmp_path, processes, enqueue_to):
    who = people()
    courses = [publish_course(title=f"Broker restart {n}") for n in range(5)]
    broker = Broker(tmp_path)
    broker.start()
    processes.append(broker)
    worker = Worker(broker.url)
    processes.append(worker)
    worker.wait_for("ready")
    enqueue_to(broker)

    orders = [buy(api_client, who["learner"], course) for course in courses[:3]]
    mark = len(worker.lines)
    broker.stop()  # with deliveries queued or in flight
    orders += [buy(api_client, who["learner"], course) for course in courses[3:]]  # paid while Redis is down
    assert Order.objects.filter(pk__in=orders[3:], status="paid").count() == 2, "the purchase does not need Redis"
    time.sleep(1)
    broker.start()
    worker.wait_for("Connected to", after=mark)
    _sweep(broker)  # the restarted Redis kept nothing: the sweep finds what it lost
    _wait(lambda: _all_done(orders), what="every order to complete after the restart")
    assert worker.process.poll() is None, "the worker lived through the restart"
    assert not [line for line in worker.lines if "Unrecoverable error" in line]
    assert_zero_differences(reconcile_all())
    assert_consistent()
