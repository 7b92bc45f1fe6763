"""Serves the site for the embedded default: Django's server plus the periodic jobs in process.

With REDIS_URL set, run Celery's worker and beat instead (README, "Running for real");
without it, this command's scheduler thread runs the beat schedule (outbox sweep,
inbox purge, ...) so that a failed delivery is still retried.
"""

import logging
import os
import threading
import time

from celery import Task
from celery import current_app as celery_app
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.core.servers import basehttp


def beat_schedule_tasks() -> dict[str, tuple[Task, float]]:
    """CELERY_BEAT_SCHEDULE's tasks and intervals; raises NotRegistered at once for a missing task.

    A web process never autodiscovers task modules (a worker does), so import them first.
    """
    celery_app.loader.import_default_modules()
    return {name: (celery_app.tasks[entry["task"]], float(entry["schedule"]))
            for name, entry in settings.CELERY_BEAT_SCHEDULE.items()}


def run_schedule_forever(*, stop: threading.Event, tick_seconds: float = 1.0) -> None:
    """Runs each CELERY_BEAT_SCHEDULE task in process at its interval until ``stop`` is set."""
    schedule = beat_schedule_tasks()
    next_run = {name: time.monotonic() + interval for name, (_, interval) in schedule.items()}
    while not stop.wait(tick_seconds):
        now = time.monotonic()
        for name, (task, interval) in schedule.items():
            if now >= next_run[name]:
                next_run[name] = now + interval
                try:
                    task.apply()
                except Exception:  # a failing job must not stop the others; it logs and runs next time
                    celery_app.log.get_default_logger().exception("periodic job %s failed", name)


class Command(BaseCommand):
    help = "Serves the site on HOST:PORT; without Redis it also runs the periodic jobs in process."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--reload", action="store_true", help="restart on code changes (development)")

    def handle(self, *args, host, port, reload, **options):
        # With the autoreloader, only the child process (RUN_MAIN) serves and schedules.
        serving_process = not reload or os.environ.get("RUN_MAIN") == "true"
        if not settings.REDIS_URL and serving_process:
            beat_schedule_tasks()  # a misnamed task stops the start, not every tick
            # One "task succeeded" line every 15 s would bury the request log; failures still show.
            logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
            stop = threading.Event()
            threading.Thread(target=run_schedule_forever, kwargs={"stop": stop}, daemon=True,
                             name="periodic-jobs").start()
            self.stdout.write("Periodic jobs run in process (no REDIS_URL).")
        # No "Server: WSGIServer/0.2 CPython/3.x" on every response: it only tells a scanner what to try.
        basehttp.ServerHandler.server_software = None
        call_command("runserver", f"{host}:{port}", use_reloader=reload, use_threading=True)
