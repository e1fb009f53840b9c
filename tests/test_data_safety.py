"""`make test` and `make bench` never empty a database they did not create.

Each case gives a run a Redis db or a PostgreSQL database that already holds someone's data, and
checks that the run refuses with a message saying why, and that the data is still there after it.
The Redis servers are throwaway ones started here; the PostgreSQL databases are created here, on
the server the suite uses, and dropped by the test that created them.
"""

import os
import subprocess
import sys
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from testing import ownership, servers
from testing.fixtures import BASE_DIR, service_missing

PROBE = """
def test_uses_redis(redis_client):
    redis_client.set("written-by-the-probe", "1")


def test_uses_the_database(db):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create(username="probe", email="probe@example.com")
"""


@pytest.fixture
def redis_server(tmp_path):
    """A Redis server of this test's own: its url (db 0) and a client factory for any db."""
    import redis

    folder = tmp_path / "redis"
    folder.mkdir()
    stops_before = len(servers._stops)
    try:
        url, reason = servers.redis_start(folder)
    except RuntimeError as error:
        url, reason = None, str(error)
    if not url:
        service_missing(reason)
    stop = servers._stops.pop(stops_before)
    yield url, (lambda db: redis.Redis.from_url(url.rsplit("/", 1)[0] + f"/{db}"))
    stop()


def run_suite(tmp_path, **env):
    (tmp_path / "test_probe.py").write_text(PROBE)
    environment = {key: value for key, value in os.environ.items() if key not in {"PYTEST_ADDOPTS", "REQUIRE_SERVICES"}}
    environment.update(env)
    command = [sys.executable, "-m", "pytest", "-c", str(BASE_DIR / "pytest.ini"), "-p", "testing.fixtures"]
    command += ["-p", "no:cacheprovider"]
    result = subprocess.run(
        [*command, "-q", str(tmp_path / "test_probe.py")],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result.returncode, result.stdout + result.stderr


def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'probe.sqlite3'}"


def test_the_tests_refuse_a_redis_db_holding_keys_they_did_not_write(tmp_path, redis_server):
    url, client = redis_server
    client(3).set("someones:session", "precious")
    client(3).hset("someones:hash", "field", "value")

    code, output = run_suite(tmp_path, REDIS_URL=url.rsplit("/", 1)[0] + "/3", DATABASE_URL=sqlite_url(tmp_path))

    assert code == pytest.ExitCode.USAGE_ERROR, output
    assert "the tests refuse to use" in output and "2 key(s) they did not write" in output, output
    assert client(3).get("someones:session") == b"precious"
    assert client(3).hget("someones:hash", "field") == b"value"
    assert client(3).dbsize() == 2  # no mark left behind, nothing written


def test_the_tests_take_an_empty_redis_db_mark_it_and_use_it_again(tmp_path, redis_server):
    """CI's REDIS_URL=redis://.../9: an empty db the first time, the tests' own every time after."""
    url, client = redis_server
    given = url.rsplit("/", 1)[0] + "/9"
    for _ in range(2):
        code, output = run_suite(tmp_path, REDIS_URL=given, DATABASE_URL=sqlite_url(tmp_path))
        assert code == 0, output
        assert client(9).get(ownership.MARKER_KEY) == ownership.MARKER.encode()
        assert client(9).get("written-by-the-probe") is None  # emptied after the test, as before
    client(9).set("someones:key", "1")  # a key the tests did not write, in a db they marked: still theirs
    code, output = run_suite(tmp_path, REDIS_URL=given, DATABASE_URL=sqlite_url(tmp_path))
    assert code == 0, output


@pytest.fixture
def postgres_server():
    """The admin URL of the suite's PostgreSQL server, and the databases this test creates there
    (each dropped at the end: this test created them)."""
    import psycopg
    from psycopg import sql

    database_url = os.environ.get("DATABASE_URL", "")
    if urlsplit(database_url).scheme not in ("postgres", "postgresql"):
        service_missing("DATABASE_URL does not point at PostgreSQL")
    admin = ownership.postgres_admin_url(database_url)
    created = []

    def create(name, *, marked=False):
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            if marked:
                ownership.postgres_mark(conn, name)
        created.append(name)
        url = urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE someones_data (value text)")
            conn.execute("INSERT INTO someones_data VALUES ('precious')")
        return url

    def rows(name):
        url = urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
        with psycopg.connect(url) as conn:
            return conn.execute("SELECT value FROM someones_data").fetchall()

    def exists(name):
        with psycopg.connect(admin) as conn:
            return ownership.postgres_database_state(conn, name) is not None

    yield database_url, create, rows, exists
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in created:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_the_tests_refuse_an_existing_test_database_they_did_not_create(tmp_path, postgres_server, redis_server):
    """pytest-django would drop test_<name> without asking ("clobber"): the run stops first."""
    database_url, create, rows, _exists = postgres_server
    name = f"probe_{uuid.uuid4().hex[:8]}"
    create(f"test_{name}")
    given = urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))

    code, output = run_suite(tmp_path, DATABASE_URL=given, REDIS_URL=redis_server[0])

    assert code == pytest.ExitCode.USAGE_ERROR, output
    assert f"refuse to use the PostgreSQL database 'test_{name}'" in output, output
    assert rows(f"test_{name}") == [("precious",)]


def test_a_test_database_left_by_an_interrupted_run_is_replaced_and_the_new_one_marked(
    tmp_path, postgres_server, redis_server
):
    database_url, create, _rows, exists = postgres_server
    name = f"probe_{uuid.uuid4().hex[:8]}"
    create(f"test_{name}", marked=True)  # what a killed run leaves: the mark, set when it was created
    given = urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))

    code, output = run_suite(tmp_path, DATABASE_URL=given, REDIS_URL=redis_server[0])

    assert code == 0, output
    assert not exists(f"test_{name}")  # dropped at the end, by the run that created it


def test_the_suite_marks_its_test_database_as_its_own(postgres):
    with postgres.cursor() as cursor:
        cursor.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()"
        )
        assert cursor.fetchone()[0] == ownership.MARKER


def run_bench(tmp_path, **env):
    database = env.pop("BENCH_DATABASE")
    environment = {key: value for key, value in os.environ.items() if key != "PYTEST_ADDOPTS"}
    environment.update(env)
    output = tmp_path / "results.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--scale", "0.001", "--only", "memory", "--output", str(output)]
        + ["--workdir", str(tmp_path / "logs"), "--database", database],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result.returncode, result.stdout + result.stderr, output


def test_the_bench_refuses_a_database_it_did_not_create(tmp_path, postgres_server, redis_server):
    database_url, create, rows, _exists = postgres_server
    name = f"probe_bench_{uuid.uuid4().hex[:8]}"
    create(name)

    code, output, results = run_bench(
        tmp_path, DATABASE_URL=database_url, REDIS_URL=redis_server[0], BENCH_DATABASE=name
    )

    assert code == 2, output
    assert f"the benchmarks refuse to use the PostgreSQL database '{name}'" in output, output
    assert rows(name) == [("precious",)]
    assert not results.exists()


def test_the_bench_refuses_a_redis_db_holding_keys_it_did_not_write(tmp_path, postgres_server, redis_server):
    database_url, _create, _rows, exists = postgres_server
    url, client = redis_server
    client(10).set("someones:key", "precious")
    name = f"probe_bench_{uuid.uuid4().hex[:8]}"

    code, output, _results = run_bench(
        tmp_path, DATABASE_URL=database_url, REDIS_URL=url.rsplit("/", 1)[0] + "/10", BENCH_DATABASE=name
    )

    assert code == 2, output
    assert "the benchmarks refuse to use" in output and "1 key(s) they did not write" in output, output
    assert client(10).get("someones:key") == b"precious"
    assert not exists(name)  # refused before it created anything
