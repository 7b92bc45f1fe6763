import os
import shutil

import pytest
from django.conf import settings
from django.core.cache import cache

from integration import registry

TEST_WEBHOOK_SECRETS = ["test-secret-current", "test-secret-previous"]


def pytest_configure(config):
    settings.WEBHOOK_SECRETS = TEST_WEBHOOK_SECRETS
    settings.CELERY_TASK_ALWAYS_EAGER = True
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
    state = registry.snapshot()
    yield
    registry.restore(state)
    cache.clear()


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()
