"""Deployments of this codebase as separate processes, for the split-deployment tests.

A :class:`Service` is one side (``SERVICE_ROLE=commerce`` or ``lms``): its environment, its
``manage.py``, its web server on a free port and, when it has a broker, its own Celery worker.
Every process it starts writes to a log file in its folder, and :meth:`Service.logs` gives the
tails for an assertion message. :meth:`Service.stop` kills whatever is still running; register it
as a finalizer as soon as the service exists, so a failed start-up leaves nothing behind.
"""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import requests
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PASSWORD = "split-pass-phrase-1"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, probe: Callable[[], T], *, timeout: float = 60, interval: float = 0.25,
              diagnose: Callable[[], str] = lambda: "") -> T:
    """Polls ``probe`` until it answers something true (that answer is returned) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last answer: {last!r}\n{diagnose()}")


def collect_static(tmp: Path) -> Path:
    """One collectstatic for every side (the monolith's apps are a superset), hashed but not
    compressed (STATIC_COMPRESS=false: seconds instead of minutes); DEBUG is off, so pages name
    the hashed files and WhiteNoise serves them from here."""
    root = tmp / "static"
    env = {**{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}},
           "SERVICE_ROLE": "monolith", "VAR_DIR": str(tmp / "collect"), "STATIC_ROOT": str(root),
           "STATIC_COMPRESS": "false", "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return root


class Service:
    """One deployment: its environment, its manage.py, a web server and (with Redis) a Celery worker."""

    def __init__(self, *, role: str, host: str, tmp: Path, shared: dict, database_url: str | None = None,
                 redis_url: str | None = None, key_prefix: str = "", static_root: Path | None = None):
        self.role = role
        self.port = free_port()
        self.url = f"http://{host}:{self.port}"
        self.var = tmp / role
        self.var.mkdir()
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "PYTEST_XDIST_WORKER"}},
            **shared,
            "SERVICE_ROLE": role,
            "VAR_DIR": str(self.var),
            "DATABASE_URL": database_url or f"sqlite:///{self.var / 'db.sqlite3'}",
            "STATIC_ROOT": str(static_root or self.var / "static"),
            "STATIC_COMPRESS": "false",
            "API_THROTTLING": "off",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        if redis_url:
            # One Redis database may hold several deployments: each keeps its own keys and queues.
            self.env.update({"REDIS_URL": redis_url, "CACHE_KEY_PREFIX": key_prefix or role,
                             "CELERY_BROKER_KEY_PREFIX": f"{key_prefix or role}:"})
        self.processes: dict[str, subprocess.Popen] = {}
        self.last_ready = ""
        self._logs: dict[str, object] = {}

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "manage.py", *args]

    def manage(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(self.command(*args), cwd=ROOT, env=self.env, input=stdin,
                                capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, f"{self.role}: manage.py {' '.join(args)}\n{result.stderr[-3000:]}"
        return result.stdout

    def spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        """Starts a long-running process of this side, its output in ``<var>/<name>.log``."""
        log = open(self.var / f"{name}.log", "ab")  # noqa: SIM115 (closed in stop)
        self._logs[name] = log
        process = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.processes[name] = process
        return process

    def start(self) -> None:
        self.spawn("web", self.command("runserver", f"127.0.0.1:{self.port}", "--noreload"))
        wait_for(f"{self.role} to answer /readyz", self._ready, timeout=90,
                 diagnose=lambda: f"last /readyz: {self.last_ready}\n{self.logs()}")

    def start_worker(self) -> None:
        """This side's own Celery worker on its broker (one process: the solo pool)."""
        self.spawn("worker", [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
                              "--without-gossip", "--without-mingle", "--without-heartbeat",
                              "--loglevel", "INFO", "--hostname", f"{self.role}@%h"])

    def _ready(self) -> bool:
        web = self.processes.get("web")
        if web is not None and web.poll() is not None:
            raise AssertionError(f"{self.role} web server exited with {web.returncode}\n{self.logs()}")
        try:
            answer = requests.get(f"{self.url}/readyz", timeout=2)
        except requests.ConnectionError:
            return False
        self.last_ready = answer.text
        return answer.status_code == 200

    def logs(self, lines: int = 25) -> str:
        tails = []
        for name in self.processes:
            path = self.var / f"{name}.log"
            if path.exists():
                text = [line for line in path.read_text(errors="replace").splitlines()
                        if line.strip() and "/readyz" not in line][-lines:]
                tails.append(f"--- {self.role} {name} (last {len(text)} lines)\n" + "\n".join(text))
        return "\n".join(tails)

    def stop(self) -> None:
        """Terminates every process of this side (its whole process group), killing what lingers."""
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        for log in self._logs.values():
            log.close()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
