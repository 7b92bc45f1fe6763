"""Operations endpoints: liveness, readiness and Prometheus metrics."""

import hmac

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_prometheus.exports import ExportToDjangoView

from integration.errors import NotFoundError, error_response
from integration.outbox import outbox_sweep_age_seconds

_migrations_ready = False
NOT_CONFIGURED = "not configured"


@never_cache
@require_GET
def healthz(request):
    """The process answers. Touches nothing else."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return f"database unreachable: {exc.__class__.__name__}"
    return None


def _check_migrations() -> str | None:
    global _migrations_ready
    if _migrations_ready:
        return None
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        return f"{len(plan)} migration(s) not applied"
    _migrations_ready = True
    return None


def _check_redis() -> str | None:
    if not settings.REDIS_URL:
        return NOT_CONFIGURED
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
    except Exception as exc:
        return f"redis unreachable: {exc.__class__.__name__}"
    return None


def _check_redis_eviction_policy() -> str | None:
    """A warning unless Redis evicts only keys with an expiry (``volatile-*``): every cache entry has
    one, Celery's queues have none, so under memory pressure cache entries go (their answers are
    re-read from the database) and queued messages stay. ``allkeys-*`` can drop queued messages;
    ``noeviction`` refuses writes when full. Owner: identity (issue 8, item 2)."""
    if not settings.REDIS_URL:
        return None
    import redis

    try:
        policy = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).config_get(
            "maxmemory-policy").get("maxmemory-policy", "")
    except Exception:  # CONFIG may be disabled (managed Redis): nothing to say
        return None
    if policy.startswith("volatile-"):
        return None
    return (f"Redis maxmemory-policy is {policy!r}: set volatile-lru (cache entries expire and may be "
            "evicted; broker queues must not be)")


def _check_sweep() -> str | None:
    """A warning when the outbox sweep (beat, every 15 s) has not run for OUTBOX_SWEEP_STALE_SECONDS."""
    age = outbox_sweep_age_seconds()
    if age is None:
        return "the outbox sweep has never run: start celery beat (or `manage.py serve` without Redis)"
    if age > settings.OUTBOX_SWEEP_STALE_SECONDS:
        return (f"the last outbox sweep was {age:.0f} s ago (more than {settings.OUTBOX_SWEEP_STALE_SECONDS} s): "
                "is celery beat running? Lost enqueues and retries wait until it is")
    return None


@never_cache
@require_GET
def readyz(request):
    """Ready to serve: database reachable, migrations applied, Redis (broker and cache) when configured.

    A stale outbox sweep is a warning, not a failure: the site still serves, and
    only deliveries whose enqueue was lost (and retries) wait for beat.
    """
    checks = {"database": _check_database()}
    checks["migrations"] = _check_migrations() if checks["database"] is None else "skipped: no database"
    checks["redis"] = _check_redis()
    failed = {name: problem for name, problem in checks.items() if problem and problem != NOT_CONFIGURED}
    if failed:
        return JsonResponse({"status": "unavailable", "failed": failed}, status=503)
    sweep = _check_sweep()
    body = {"status": "degraded" if sweep else "ok",
            "checks": {name: problem or "ok" for name, problem in checks.items()}}
    body["checks"]["outbox_sweep"] = "stale" if sweep else "ok"
    warnings = {"outbox_sweep": sweep, "redis_eviction_policy": _check_redis_eviction_policy()}
    if any(warnings.values()):
        body["warnings"] = {name: problem for name, problem in warnings.items() if problem}
    return JsonResponse(body)


@never_cache
@require_GET
def metrics(request):
    """Prometheus text format. Public only when METRICS_PUBLIC; else a Bearer METRICS_TOKEN is needed."""
    if not settings.METRICS_PUBLIC:
        supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not settings.METRICS_TOKEN or not hmac.compare_digest(supplied.encode(), settings.METRICS_TOKEN.encode()):
            return error_response(NotFoundError)
    response = ExportToDjangoView(request)
    return response if isinstance(response, HttpResponse) else HttpResponse(response)
