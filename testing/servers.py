"""Throwaway PostgreSQL and Redis servers for a test session, when no URL is given.

Loaded with `-p testing.servers` (pytest.ini), so it runs before pytest-django reads the settings,
which read DATABASE_URL and REDIS_URL at import. For each URL that is not set, it starts a private
server on a free loopback port from the binaries on this machine (redis-server; initdb and pg_ctl,
also looked for under /usr/lib/postgresql/*/bin), exports the URL, and stops the server at the end.
A missing binary leaves the URL unset: the tests that need it skip with the reason kept in
`NOT_STARTED` (or fail, under REQUIRE_SERVICES=1).
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from . import ownership

NOT_STARTED = {}  # "REDIS_URL" / "DATABASE_URL" -> why no server was started
# Where Debian and Ubuntu install PostgreSQL's server binaries, off PATH.
POSTGRES_BIN_DIRS = "/usr/lib/postgresql/*/bin"
_stops = []


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _which(name):
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"{POSTGRES_BIN_DIRS}/{name}"), reverse=True)
    return candidates[0] if candidates else None


def _wait_for_port(port, what, proc=None, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout:.0f} s")


def redis_start(root):
    binary = _which("redis-server")
    if not binary:
        return None, "REDIS_URL is not set and redis-server is not installed"
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _stops.append(lambda: (proc.terminate(), proc.wait(10)))
    _wait_for_port(port, "redis-server", proc)
    return f"redis://127.0.0.1:{port}/0", None


def _as_postgres_user():
    """PostgreSQL refuses to run as root: then run its binaries as the `postgres` account."""
    if os.geteuid() != 0:
        return [], None
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        return None, None
    runuser = shutil.which("runuser")
    return ([runuser, "-u", "postgres", "--"] if runuser else None), account


def postgres_start(root):
    initdb, pg_ctl = _which("initdb"), _which("pg_ctl")
    if not initdb or not pg_ctl:
        return None, "DATABASE_URL is not set and PostgreSQL's initdb/pg_ctl are not installed"
    prefix, account = _as_postgres_user()
    if prefix is None:
        return None, "DATABASE_URL is not set and PostgreSQL cannot run as root without a postgres account"
    data = Path(root) / "pgdata"
    data.mkdir()
    if account is not None:
        os.chown(root, account.pw_uid, account.pw_gid)
        os.chown(data, account.pw_uid, account.pw_gid)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "check": True}
    subprocess.run([*prefix, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"], **quiet)
    port = free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    subprocess.run(
        [*prefix, pg_ctl, "-D", str(data), "-o", options, "-l", str(Path(root) / "pg.log"), "-w", "start"], **quiet
    )
    _stops.append(
        lambda: subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
    )
    _wait_for_port(port, "PostgreSQL")
    return f"postgres://postgres@127.0.0.1:{port}/mailsite", None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    if hasattr(early_config, "workerinput"):  # an xdist worker: the controller's servers are in the env
        return
    root = tempfile.mkdtemp(prefix="mailsite-test-services-")
    os.chmod(root, 0o755)
    _stops.append(lambda: shutil.rmtree(root, ignore_errors=True))
    for name, start in (("REDIS_URL", redis_start), ("DATABASE_URL", postgres_start)):
        if os.environ.get(name):
            continue
        folder = Path(root) / name.lower()
        folder.mkdir()
        try:
            url, reason = start(folder)
        except (OSError, RuntimeError, subprocess.CalledProcessError) as error:
            detail = getattr(error, "stderr", b"") or b""
            url, reason = None, f"{name} is not set and its throwaway server did not start: {error} {detail[-300:]!r}"
        if url:
            os.environ[name] = url
        else:
            NOT_STARTED[name] = reason
    try:
        given_services_claim()
    except ownership.Refused as refused:
        raise pytest.UsageError(str(refused)) from None


def given_services_claim():
    """The tests empty the Redis db they use (FLUSHDB) and drop the test database pytest-django
    creates (test_<name>, clobbering one that exists): refuse, before anything is written, a Redis
    db holding keys the tests did not write and an existing test_<name> they did not create."""
    redis_url = os.environ.get("REDIS_URL", "")
    if redis_url.startswith(("redis://", "rediss://", "unix://")):
        ownership.redis_claim(redis_url)
    database_url = os.environ.get("DATABASE_URL", "")
    if urlsplit(database_url).scheme in ("postgres", "postgresql", "pgsql"):
        import psycopg

        name = test_database_name(database_url)
        try:
            conn = psycopg.connect(ownership.postgres_admin_url(database_url), autocommit=True, connect_timeout=5)
        except psycopg.Error:
            return  # not reachable: the tests that need it fail or skip with their own reason
        with conn:
            ownership.postgres_refuse_foreign(conn, name)


def test_database_name(database_url):
    """The database pytest-django creates and drops for DATABASE_URL (Django's TEST_DATABASE_PREFIX)."""
    return "test_" + urlsplit(database_url).path.lstrip("/")


def pytest_unconfigure(config):
    if os.environ.get("REDIS_URL") and not hasattr(config, "workerinput"):
        ownership.redis_mark(os.environ["REDIS_URL"])  # a test's cache.clear() removed it
    while _stops:
        try:
            _stops.pop()()
        except Exception:  # a server already gone: nothing to stop
            pass


def pytest_report_header(config):
    started = [name for name in ("REDIS_URL", "DATABASE_URL") if name not in NOT_STARTED]
    return [f"services: {name}={os.environ.get(name, '')}" for name in started] + [
        f"services: {reason}" for reason in NOT_STARTED.values()
    ]
