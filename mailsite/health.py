"""Health endpoints, answered before any other middleware (so neither ALLOWED_HOSTS nor the HTTPS
redirect turns a container's own probe into a 400 or a 301):

/healthz  liveness: the process answers. Touches nothing else.
/readyz   readiness: database, cache and broker reachable, migrations applied, and beat alive
          (its last heartbeat within HEALTH_BEAT_MAX_AGE seconds). 200, or 503 with JSON naming
          what failed.

Beat's heartbeat is written by the beat process itself each time it publishes a scheduled task
(the outbox sweeper runs every minute), so a stopped or stuck beat shows here even while every
worker is fine.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse

logger = logging.getLogger(__name__)
HEARTBEAT_KEY = "mailsite:beat:heartbeat"


def _setting(name, default):
    return getattr(settings, name, default)


def check_database():
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")


def check_cache():
    cache.set("mailsite:readyz", "1", timeout=30)
    if cache.get("mailsite:readyz") != "1":
        raise RuntimeError("the cache did not keep a value")


def check_broker():
    from mailsite.celery import app

    with app.connection_for_write(url=_setting("CELERY_BROKER_URL", None)) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=3)


def check_migrations():
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        raise RuntimeError(f"{len(pending)} migration(s) not applied")


def check_beat():
    beat = cache.get(HEARTBEAT_KEY)
    if beat is None:
        raise RuntimeError("no heartbeat from beat")
    age = time.time() - float(beat)
    if age > _setting("HEALTH_BEAT_MAX_AGE", 180):
        raise RuntimeError(f"last beat heartbeat {age:.0f}s ago")


CHECKS = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "migrations": check_migrations,
    "beat": check_beat,
}


def readiness():
    """{name: "ok" or what went wrong}. The reason names the kind of error, not its text, which
    may carry internal host names."""
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as error:
            logger.warning("readyz: %s failed: %s", name, error)
            results[name] = f"failed ({error if isinstance(error, RuntimeError) else type(error).__name__})"
        else:
            results[name] = "ok"
    return results


def beat_heartbeat(**kwargs):
    try:
        cache.set(HEARTBEAT_KEY, time.time(), timeout=None)
    except Exception as error:  # the cache being down shows on /readyz by itself
        logger.warning("beat heartbeat not written: %s", error)


class HealthMiddleware:
    """Answers /healthz and /readyz; passes everything else on. First in MIDDLEWARE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz":
            return JsonResponse({"status": "ok"})
        if request.path == "/readyz":
            checks = readiness()
            failed = [name for name, result in checks.items() if result != "ok"]
            body = {"status": "fail" if failed else "ok", "failed": failed, "checks": checks}
            return JsonResponse(body, status=503 if failed else 200)
        return self.get_response(request)
