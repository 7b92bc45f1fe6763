"""Operations endpoints: liveness, readiness and Prometheus metrics."""

import hmac

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_prometheus.exports import ExportToDjangoView

from integration.errors import error_response

_migrations_ready = False


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
        return None
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
    except Exception as exc:
        return f"redis unreachable: {exc.__class__.__name__}"
    return None


@never_cache
@require_GET
def readyz(request):
    """Ready to serve: database reachable, migrations applied, Redis (broker and cache) when configured."""
    checks = {"database": _check_database()}
    checks["migrations"] = _check_migrations() if checks["database"] is None else "skipped: no database"
    checks["redis"] = _check_redis()
    failed = {name: problem for name, problem in checks.items() if problem}
    if failed:
        return JsonResponse({"status": "unavailable", "failed": failed}, status=503)
    return JsonResponse({"status": "ok", "checks": {name: "ok" for name in checks}})


@never_cache
@require_GET
def metrics(request):
    """Prometheus text format. Public only when METRICS_PUBLIC; else a Bearer METRICS_TOKEN is needed."""
    if not settings.METRICS_PUBLIC:
        supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not settings.METRICS_TOKEN or not hmac.compare_digest(supplied.encode(), settings.METRICS_TOKEN.encode()):
            return error_response("not_found", "Not found.", 404)
    response = ExportToDjangoView(request)
    return response if isinstance(response, HttpResponse) else HttpResponse(response)
