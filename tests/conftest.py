import os
import shutil

import pytest
from django.conf import settings
from django.core.cache import cache, caches

from integration import registry

TEST_WEBHOOK_SECRETS = ["test-secret-current", "test-secret-previous"]


def _per_worker_redis_url(url: str, worker: str) -> str:
    """Each xdist worker gets its own Redis database: cache.clear() is FLUSHDB, and a shared
    database would wipe another worker's throttle counters and warm caches mid-test."""
    base, _, db = url.rpartition("/")
    index = int(db) if db.isdigit() else 0
    return f"{base}/{(index + int(worker.removeprefix('gw'))) % 16}"


def pytest_configure(config):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if settings.REDIS_URL and worker.startswith("gw"):
        settings.REDIS_URL = _per_worker_redis_url(settings.REDIS_URL, worker)
        settings.CACHES = {**settings.CACHES,
                           "default": {**settings.CACHES["default"], "LOCATION": settings.REDIS_URL}}
        if settings.CACHES["security"]["BACKEND"] == settings.CACHES["default"]["BACKEND"]:
            settings.CACHES["security"] = {**settings.CACHES["security"], "LOCATION": settings.REDIS_URL}
        settings.CELERY_BROKER_URL = settings.REDIS_URL
    settings.WEBHOOK_SECRETS = TEST_WEBHOOK_SECRETS
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # Tests render pages without a collectstatic run: plain names, found by the finders.
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    settings.WHITENOISE_USE_FINDERS = True
    from config.celery import app as celery_app

    # Most tests run tasks in process; the broker test starts a real worker on Redis itself.
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True


def pytest_collection_modifyitems(config, items):
    on_postgres = settings.USES_POSTGRES
    chromium = shutil.which("chromium") or os.path.exists("/usr/bin/chromium")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)"))
        if "browser" in item.keywords and not chromium:
            if os.environ.get("REQUIRE_BROWSER"):
                raise pytest.UsageError("REQUIRE_BROWSER is set but /usr/bin/chromium is missing")
            item.add_marker(pytest.mark.skip(reason="needs Debian's chromium (apt-get install chromium)"))


@pytest.fixture(autouse=True)
def _isolation(settings):
    """Each test starts with an empty cache, the test secrets and eager tasks; handlers restored after."""
    settings.WEBHOOK_SECRETS = TEST_WEBHOOK_SECRETS
    settings.CELERY_TASK_ALWAYS_EAGER = True
    cache.clear()
    caches["security"].clear()
    state = registry.snapshot()
    yield
    registry.restore(state)
    cache.clear()
    caches["security"].clear()


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()
