"""The run's own PostgreSQL database and Redis db, and the environment its processes share.

The database is created and migrated fresh for every run, and dropped at its end; the Redis db is
flushed before each benchmark. Both are derived from DATABASE_URL / REDIS_URL:
  database  <name of DATABASE_URL's database>_bench (mailsite_bench by default), or --database
  redis     REDIS_URL as given (redis://127.0.0.1:6379/10 by default)
Neither is ever emptied unless it is the bench's own (testing/ownership.py): an existing database
the bench did not create, or a Redis db holding keys it did not write, stops the run before it
writes anything.
"""

import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from testing import ownership

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/mailsite"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"


@dataclass
class Environment:
    database_url: str
    redis_url: str
    secret_key: str
    workdir: Path
    base: dict = field(default_factory=dict)
    created: list = field(default_factory=list)  # the databases this run created, dropped at its end

    def child(self, **extra):
        """Environment variables for a worker or web process of this run."""
        env = {
            **self.base,
            "DJANGO_SETTINGS_MODULE": "mailsite.settings",
            "DEBUG": "0",  # DEBUG keeps every query in memory: never in a benchmark
            "SECRET_KEY": self.secret_key,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        env.update({key: str(value) for key, value in extra.items()})
        return env


def environment_build(*, database=None, workdir):
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("EMAIL_", "NOTIFICATIONS_", "ACCOUNTS_", "CELERY_")) and key != "DEBUG"
    }
    source = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    parts = urlsplit(source)
    if parts.scheme not in ("postgres", "postgresql", "pgsql", "psql"):
        raise SystemExit(f"bench: DATABASE_URL must point at PostgreSQL (got {parts.scheme}://...)")
    name = database or f"{parts.path.lstrip('/') or 'mailsite'}_bench"
    secret = os.environ.get("SECRET_KEY") or os.urandom(32).hex()
    return Environment(
        database_url=urlunsplit(parts._replace(path=f"/{name}")),
        redis_url=os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
        secret_key=secret,
        workdir=Path(workdir),
        base=base,
    )


def _database_name(url):
    return urlsplit(url).path.lstrip("/")


def _admin_url(url):
    return ownership.postgres_admin_url(url)


def services_claim(env):
    """Refuse, before anything is written, a Redis db that holds keys the bench did not write."""
    ownership.redis_claim(env.redis_url, who="the benchmarks")


def database_add(env, name):
    """Create the database `name` on the run's server, as the bench's own; its URL."""
    ownership.postgres_create(_admin_url(env.database_url), name, who="the benchmarks")
    env.created.append(name)
    return urlunsplit(urlsplit(env.database_url)._replace(path=f"/{name}"))


def database_create(env):
    """Create the run's database (refusing one the bench did not create), then migrate it."""
    database_add(env, _database_name(env.database_url))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=BASE_DIR,
        env=env.child(),
        check=True,
    )


def databases_drop(env):
    """Drop every database this run created; the names of those dropped."""
    from django.conf import settings
    from django.db import connections

    if settings.configured:
        connections.close_all()
    dropped = []
    while env.created:
        name = env.created.pop()
        if ownership.postgres_drop(_admin_url(env.database_url), name):
            dropped.append(name)
    return dropped


def django_setup(env):
    """Make this process a client of the run's database and Redis (before Django loads)."""
    os.environ.clear()
    os.environ.update(env.child())
    import django

    django.setup()


def state_reset(env):
    """Empty the project's tables and the Redis db, so each benchmark starts from nothing."""
    from django.apps import apps
    from django.db import connection

    tables = [
        model._meta.db_table
        for label in ("accounts", "notifications", "django_celery_results", "sessions")
        if label in apps.app_configs
        for model in apps.get_app_config(label).get_models()
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")  # the run's own database
    ownership.redis_flush(env.redis_url)


def commit_describe():
    """The commit measured, marked when the working tree had changes on top of it."""
    return _git("rev-parse", "--short", "HEAD") + (
        "+changes" if _git("status", "--porcelain", "--untracked-files=no") else ""
    )


def _git(*args):
    try:
        return subprocess.run(["git", *args], cwd=BASE_DIR, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_describe(env):
    """What the numbers were measured on."""
    import django
    import redis
    from django.db import connection

    def cpuinfo(key):
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
        return "unknown"

    with open("/proc/meminfo") as info:
        mem_kb = int(next(line for line in info if line.startswith("MemTotal")).split()[1])
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    return {
        "cpus": len(os.sched_getaffinity(0)),
        "cpu_model": cpuinfo("model name"),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": postgres.split()[0],
        "redis": redis.Redis.from_url(env.redis_url).info("server")["redis_version"],
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
