"""/healthz and /readyz against real services: a test-owned Redis is stopped to make /readyz fail,
and a real `celery beat` process writes the heartbeat it reads."""

import subprocess
import sys
import time

import pytest
from django.core.cache import cache

from mailsite.health import HEARTBEAT_KEY, beat_heartbeat
from testing.fixtures import BASE_DIR, worker_env
from testing.servers import free_port


def test_healthz_answers_whatever_the_host_and_scheme(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="internal-probe")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_with_every_service_and_a_fresh_heartbeat(client, redis_cache, postgres):
    beat_heartbeat()
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"] == dict.fromkeys(["database", "cache", "broker", "migrations", "beat"], "ok")


def test_readyz_names_a_silent_or_stale_beat(client, redis_cache, postgres, settings):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["beat"]
    cache.set(HEARTBEAT_KEY, time.time() - 600, timeout=None)
    settings.HEALTH_BEAT_MAX_AGE = 180
    body = client.get("/readyz").json()
    assert body["failed"] == ["beat"] and "600s ago" in body["checks"]["beat"]


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


def test_readyz_fails_naming_cache_and_broker_when_redis_stops(client, postgres, own_redis, settings):
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
    server.terminate()
    server.wait(10)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert {"cache", "broker", "beat"} <= set(body["failed"])
    assert body["checks"]["database"] == "ok" and body["checks"]["migrations"] == "ok"
    assert "127.0.0.1" not in response.content.decode()  # reasons name the kind of error, not hosts


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
        assert client.get("/readyz").json()["checks"]["beat"] == "ok"
    finally:
        beat.terminate()
        beat.wait(15)
