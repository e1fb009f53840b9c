"""Health endpoints, answered before any other middleware (so neither ALLOWED_HOSTS nor the HTTPS
redirect turns a container's own probe into a 400 or a 301):

/healthz       liveness: the process answers. Touches nothing else.
/readyz        readiness: whether *this* process can serve requests: its database (reachable,
               migrations applied) and the cache (sessions' rate limits and codes live there).
               200, or 503 with JSON naming what failed. Nothing a background process does
               appears here, so a stopped beat or a broker restart never takes the web tier out.
/healthz/deep  every component, each with its own status: the readiness checks, plus the broker,
               beat and the workers (one heartbeat per queue). 200 when all are ok, else 503. For
               a monitor or a person; never wire a load balancer to it.

Beat's heartbeat is written by the beat process each time it publishes a scheduled task (the
outbox sweeper runs every minute); a worker's, by a timer in the worker itself (WorkerHeartbeat,
mailsite/celery.py) every HEALTH_HEARTBEAT_INTERVAL seconds, in the cache for this page and in a
file of its container for `manage.py health worker`.
"""

import logging
import time
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse

logger = logging.getLogger(__name__)
HEARTBEAT_KEY = "mailsite:beat:heartbeat"
WORKER_KEY = "mailsite:worker:heartbeat:{queue}"


def _setting(name, default):
    return getattr(settings, name, default)


class CheckFailed(RuntimeError):
    """A check's own verdict, shown as it is (other errors show only their kind)."""


def check_database():
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")


def check_cache():
    cache.set("mailsite:readyz", "1", timeout=30)
    if cache.get("mailsite:readyz") != "1":
        raise CheckFailed("the cache did not keep a value")


def check_migrations():
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        raise CheckFailed(f"{len(pending)} migration(s) not applied")


def check_broker():
    from mailsite.celery import app

    timeout = _setting("HEALTH_BROKER_TIMEOUT", 1.0)
    options = {"socket_connect_timeout": timeout, "socket_timeout": timeout, "read_timeout": timeout}
    with app.connection_for_write(connect_timeout=timeout, transport_options=options) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)


def heartbeat_age(value):
    return None if value is None else max(0.0, time.time() - float(value))


def check_beat():
    age = heartbeat_age(cache.get(HEARTBEAT_KEY))
    if age is None:
        raise CheckFailed("no heartbeat from beat")
    if age > _setting("HEALTH_BEAT_MAX_AGE", 180):
        raise CheckFailed(f"last beat heartbeat {age:.0f}s ago")


def worker_queues():
    return [queue.name for queue in _setting("CELERY_TASK_QUEUES", [])]


def workers_ages():
    """{queue: seconds since a worker consuming it last beat, or None for never}."""
    keys = {queue: WORKER_KEY.format(queue=queue) for queue in worker_queues()}
    found = cache.get_many(list(keys.values()))
    return {queue: heartbeat_age(found.get(key)) for queue, key in keys.items()}


def check_workers():
    limit = _setting("HEALTH_WORKER_MAX_AGE", 60)
    silent = [queue for queue, age in workers_ages().items() if age is None or age > limit]
    if silent:
        raise CheckFailed(f"no worker heartbeat within {limit}s for {', '.join(silent)}")


READINESS = {"database": check_database, "cache": check_cache, "migrations": check_migrations}
COMPONENTS = {"broker": check_broker, "beat": check_beat, "workers": check_workers}


def run_checks(checks):
    """{name: "ok" or what went wrong}. The reason names the kind of error, not its text, which
    may carry internal host names."""
    results = {}
    for name, check in checks.items():
        try:
            check()
        except Exception as error:
            logger.warning("health: %s failed: %s", name, error)
            results[name] = f"failed ({error if isinstance(error, CheckFailed) else type(error).__name__})"
        else:
            results[name] = "ok"
    return results


def readiness():
    return run_checks(READINESS)


def deep():
    return run_checks({**READINESS, **COMPONENTS})


def beat_heartbeat(**kwargs):
    try:
        cache.set(HEARTBEAT_KEY, time.time(), timeout=None)
    except Exception as error:  # the cache being down shows on /readyz by itself
        logger.warning("beat heartbeat not written: %s", error)
    heartbeat_file("beat").touch()


def heartbeat_dir():
    return Path(_setting("HEALTH_HEARTBEAT_DIR", Path(settings.BASE_DIR) / "var" / "heartbeat"))


def heartbeat_file(name):
    folder = heartbeat_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def worker_heartbeat(*, node, queues):
    """What a worker's timer writes: one key per queue it consumes, and its container's file."""
    now = time.time()
    try:
        cache.set_many({WORKER_KEY.format(queue=queue): now for queue in queues}, timeout=24 * 3600)
    except Exception as error:
        logger.warning("worker heartbeat not written to the cache: %s", error)
    heartbeat_file(f"worker-{node}").touch()


def _response(checks):
    failed = [name for name, result in checks.items() if result != "ok"]
    body = {"status": "fail" if failed else "ok", "failed": failed, "checks": checks}
    return JsonResponse(body, status=503 if failed else 200)


class HealthMiddleware:
    """Answers /healthz, /readyz and /healthz/deep; passes everything else on. First in MIDDLEWARE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz":
            return JsonResponse({"status": "ok"})
        if request.path == "/readyz":
            return _response(readiness())
        if request.path == "/healthz/deep":
            return _response(deep())
        return self.get_response(request)
