"""A broker restart under a live Celery worker (prefork, acks-late, deliveries in flight): it lives, delivery resumes.

The worker runs with celery's default steps (gossip and mingle on, harsher than
deploy/'s units). Celery 5.7.0's own consumer could die on a restart with
``Unrecoverable error: AttributeError("'NoneType' object has no attribute 'hostname'")``
when the loss caught unacknowledged messages (config/celery.py explains); this
test does not hit that window every time, the load trial in the README does.
"""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction

from integration import outbox, tasks
from integration.models import OutboxMessage
from tests.integration.factories import catalog_sync_payload

BASE_DIR = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.postgres,  # the worker is another process: it needs the test database on a server
    pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server to run a broker of its own"),
    pytest.mark.django_db(transaction=True),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Broker:
    """A private Redis (never the shared one) that the test can stop and start."""

    def __init__(self, tmp_path: Path):
        self.port = _free_port()
        self.dir = tmp_path
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class Worker:
    """A real ``celery worker`` on ``broker_url`` and this test's database, in a session of its own, its log
    kept in ``lines``. Subclasses name another app, other worker options, more environment."""

    APP = "tests.integration.celery_restart_app"
    OPTIONS: tuple[str, ...] = ("-c", "2")

    def __init__(self, broker_url: str, **env: str):
        database = settings.DATABASES["default"]
        environment = {**os.environ, "REDIS_URL": broker_url, "LOG_LEVEL": "INFO", "PYTHONPATH": str(BASE_DIR),
                       "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
                                       f"{database['NAME']}", **self.extra_environment(env)}
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", self.APP, "worker", *self.OPTIONS, "--loglevel", "INFO"],
            cwd=BASE_DIR, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

    def extra_environment(self, env: dict[str, str]) -> dict[str, str]:
        return env

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, *, after: int = 0, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines[after:]):
                return
            assert self.process.poll() is None, "".join(self.lines[-40:])
            time.sleep(0.1)
        raise AssertionError(f"no {text!r} in the worker's log:\n" + "".join(self.lines[-40:]))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _send(n: int) -> list[OutboxMessage]:
    messages = []
    for i in range(n):
        with transaction.atomic():
            messages.append(outbox.outbox_send(topic="catalog.sync", payload=catalog_sync_payload(external_id=f"c-{i}"),
                                               aggregate_key=f"restart:{time.monotonic_ns()}:{i}"))
    return messages


def _publish(app, url: str, task, **kwargs) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with app.connection_for_write(url) as connection:
                task.apply_async(kwargs=kwargs, connection=connection, retry=False)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _wait_delivered(messages, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    ids = [m.pk for m in messages]
    while time.monotonic() < deadline:
        if OutboxMessage.objects.filter(pk__in=ids, status=OutboxMessage.Status.DELIVERED).count() == len(ids):
            return
        time.sleep(0.2)
    raise AssertionError(f"{OutboxMessage.objects.filter(pk__in=ids).exclude(status='delivered').count()} "
                         "messages never delivered")


def test_the_worker_survives_a_broker_restart_with_tasks_in_flight_and_delivery_resumes(tmp_path, monkeypatch):
    from config.celery import app

    monkeypatch.setattr(outbox, "_enqueue_delivery", lambda message_id: None)  # the test publishes itself
    broker = Broker(tmp_path)
    broker.start()
    worker = Worker(broker.url)
    try:
        worker.wait_for("ready")
        first = _send(5)
        for message in first:
            _publish(app, broker.url, tasks.outbox_deliver, message_id=str(message.message_id))
        _wait_delivered(first)

        for _restart in range(2):
            in_flight = _send(40)
            for message in in_flight:
                _publish(app, broker.url, tasks.outbox_deliver, message_id=str(message.message_id))
            mark = len(worker.lines)
            broker.stop()  # with deliveries unacknowledged: the moment celery 5.7.0 crashed on
            time.sleep(2)
            broker.start()
            worker.wait_for("Connected to", after=mark)
            assert worker.process.poll() is None, "".join(worker.lines[-60:])
            # The restarted Redis kept nothing; the outbox sweep (beat's job) finds what the broker lost.
            _publish(app, broker.url, tasks.outbox_sweep)
            _wait_delivered(in_flight)

        after = _send(3)
        for message in after:
            _publish(app, broker.url, tasks.outbox_deliver, message_id=str(message.message_id))
        _wait_delivered(after)
        assert worker.process.poll() is None
        assert not [line for line in worker.lines if "Unrecoverable error" in line]
    finally:
        worker.stop()
        broker.stop()
