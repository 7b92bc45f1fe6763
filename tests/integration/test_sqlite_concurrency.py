"""The embedded default's SQLite options: concurrent requests wait their turn, never "database is locked"."""

import threading
import time

import pytest
from django.conf import settings
from django.db import connections, transaction


def test_concurrent_read_then_write_transactions_wait_instead_of_failing(tmp_path, django_db_blocker):
    """The embedded default's options: 8 threads that read then write never get "database is locked"."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip("the SQLite options of the embedded default")
    alias = "concurrency_check"
    connections.settings[alias] = {**connections.settings["default"], "NAME": str(tmp_path / "db.sqlite3"),
                                   "TEST": {}}
    try:
        django_db_blocker.unblock()
        with connections[alias].cursor() as cursor:
            cursor.execute("CREATE TABLE counter (n INTEGER)")
            cursor.execute("INSERT INTO counter VALUES (0)")
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
        errors = []

        def bump():
            try:
                for _ in range(20):
                    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
                        cursor.execute("SELECT n FROM counter")
                        (n,) = cursor.fetchone()
                        time.sleep(0.001)
                        cursor.execute("UPDATE counter SET n = %s", [n + 1])
            except Exception as exc:
                errors.append(exc)
            finally:
                connections[alias].close()

        threads = [threading.Thread(target=bump) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT n FROM counter")
            assert cursor.fetchone()[0] == 160, "no lost update either"
    finally:
        connections[alias].close()
        del connections.settings[alias]
        django_db_blocker.restore()
