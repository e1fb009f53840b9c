"""/healthz and /readyz against real services: a test-owned Redis is stopped to make /readyz fail,
and a real `celery beat` process writes the heartbeat it reads."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.cache import cache

from mailsite.health import HEARTBEAT_KEY, WORKER_KEY, beat_heartbeat, worker_heartbeat
from testing.fixtures import BASE_DIR, worker_env
from testing.servers import free_port


def test_healthz_answers_whatever_the_host_and_scheme(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="internal-probe")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_only_what_this_process_needs_to_serve(client, redis_cache, postgres):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"] == dict.fromkeys(["database", "cache", "migrations"], "ok")


def test_a_stopped_beat_leaves_readyz_ready_and_the_deep_check_names_it(client, redis_cache, postgres, settings):
    settings.HEALTH_BEAT_MAX_AGE = 180
    assert client.get("/readyz").status_code == 200  # no heartbeat at all
    deep = client.get("/healthz/deep")
    assert deep.status_code == 503
    assert "beat" in deep.json()["failed"] and deep.json()["checks"]["beat"] == "failed (no heartbeat from beat)"
    cache.set(HEARTBEAT_KEY, time.time() - 600, timeout=None)
    assert client.get("/readyz").status_code == 200
    body = client.get("/healthz/deep").json()
    assert "beat" in body["failed"] and "600s ago" in body["checks"]["beat"]
    beat_heartbeat()
    assert client.get("/healthz/deep").json()["checks"]["beat"] == "ok"


def test_the_deep_check_names_each_queue_without_a_worker(client, redis_cache, postgres, settings):
    settings.HEALTH_WORKER_MAX_AGE = 60
    worker_heartbeat(node="w1@host", queues=["email-urgent"])
    cache.set(WORKER_KEY.format(queue="default"), time.time() - 120, timeout=None)
    result = client.get("/healthz/deep").json()["checks"]["workers"]
    assert result == "failed (no worker heartbeat within 60s for default, email-bulk)"
    worker_heartbeat(node="w2@host", queues=["default", "email-bulk"])
    assert client.get("/healthz/deep").json()["checks"]["workers"] == "ok"


@pytest.fixture
def own_redis(tmp_path):
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield server, f"redis://127.0.0.1:{port}/0"
    if server.poll() is None:
        server.terminate()
        server.wait(10)


def test_readyz_fails_naming_the_cache_when_redis_stops_and_the_deep_check_the_broker(
    client, postgres, own_redis, settings
):
    server, url = own_redis
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    settings.CELERY_BROKER_URL = url
    beat_heartbeat()
    assert client.get("/readyz").status_code == 200
    assert client.get("/healthz/deep").json()["checks"]["broker"] == "ok"
    server.terminate()
    server.wait(10)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail" and body["failed"] == ["cache"]
    assert body["checks"]["database"] == "ok" and body["checks"]["migrations"] == "ok"
    assert "127.0.0.1" not in response.content.decode()  # reasons name the kind of error, not hosts
    deep = client.get("/healthz/deep")
    assert {"cache", "broker"} <= set(deep.json()["failed"])
    assert "127.0.0.1" not in deep.content.decode()


def test_a_real_beat_process_writes_the_heartbeat(transactional_db, redis_cache, tmp_path, client):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("beat shares the test database")
    assert cache.get(HEARTBEAT_KEY) is None
    log = open(tmp_path / "beat.log", "wb")
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "mailsite", "beat", "-l", "info", "-s", str(tmp_path / "schedule")],
        cwd=BASE_DIR,
        env=worker_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 40
        while cache.get(HEARTBEAT_KEY) is None:
            assert beat.poll() is None and time.monotonic() < deadline, (tmp_path / "beat.log").read_text()
            time.sleep(0.1)
        assert time.time() - float(cache.get(HEARTBEAT_KEY)) < 40
        assert client.get("/healthz/deep").json()["checks"]["beat"] == "ok"
        assert (Path(worker_env()["HEALTH_HEARTBEAT_DIR"]) / "beat").exists()
    finally:
        beat.terminate()
        beat.wait(15)


def test_a_real_worker_beats_for_its_queues_and_its_container_probe_reads_the_file(
    worker_factory, redis_cache, client, settings, tmp_path, capsys
):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from mailsite.health import heartbeat_dir

    settings.HEALTH_WORKER_MAX_AGE = 60
    settings.HEALTH_HEARTBEAT_DIR = str(tmp_path / "heartbeat")
    with pytest.raises(CommandError):
        call_command("health", "--process", "worker")
    print(capsys.readouterr().out)
    worker_factory(queues="email-urgent", HEALTH_HEARTBEAT_INTERVAL="0.5")
    ages = {queue: cache.get(WORKER_KEY.format(queue=queue)) for queue in ("email-urgent", "default")}
    assert ages["email-urgent"] is not None and ages["default"] is None  # only the queue it consumes
    checks = client.get("/healthz/deep").json()["checks"]
    assert checks["workers"] == "failed (no worker heartbeat within 60s for default, email-bulk)"
    call_command("health", "--process", "worker")  # the file is fresh
    (file,) = heartbeat_dir().glob("worker-*")
    first = file.stat().st_mtime
    deadline = time.monotonic() + 30
    while file.stat().st_mtime == first:  # the timer keeps beating
        assert time.monotonic() < deadline, "the worker's heartbeat file was touched only once"
        time.sleep(0.2)


def test_the_process_probe_fails_on_a_stale_heartbeat_file(settings, tmp_path, capsys):
    import os

    from django.core.management import call_command
    from django.core.management.base import CommandError

    settings.HEALTH_HEARTBEAT_DIR = str(tmp_path)
    settings.HEALTH_BEAT_MAX_AGE = 180
    (tmp_path / "beat").touch()
    call_command("health", "--process", "beat")
    assert "beat: ok" in capsys.readouterr().out
    os.utime(tmp_path / "beat", (time.time() - 600, time.time() - 600))
    with pytest.raises(CommandError, match="failed: beat"):
        call_command("health", "--process", "beat")
    assert "last heartbeat 600s ago" in capsys.readouterr().out


def test_the_health_command_runs_the_named_checks(db, redis_cache, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    call_command("health", "database", "cache")
    assert capsys.readouterr().out.splitlines() == ["database: ok", "cache: ok"]
    with pytest.raises(CommandError, match="failed: beat"):
        call_command("health", "beat")
