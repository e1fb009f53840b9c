"""docker-compose.yml's operations parts, read as Compose reads them: health checks on the health
endpoints, Flower behind basic auth from .env, one metrics folder shared by every app process."""

from pathlib import Path

import yaml

BASE_DIR = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_web_is_healthy_only_when_readyz_says_so():
    probe = " ".join(SERVICES["web"]["healthcheck"]["test"])
    assert "/readyz" in probe and "status != 200" in probe


def test_flower_runs_behind_basic_auth_from_env_and_only_on_localhost():
    flower = SERVICES["flower"]
    assert "flower" in flower["command"]
    auth = flower["environment"]["FLOWER_BASIC_AUTH"]
    # Compose refuses to start without both values (`:?`), so Flower is never open.
    assert auth == "${FLOWER_USER:?set FLOWER_USER in .env}:${FLOWER_PASSWORD:?set FLOWER_PASSWORD in .env}"
    assert all(port.startswith("127.0.0.1:") for port in flower["ports"])
    assert "--broker=redis://redis:6379/0" in flower["command"]
    assert flower["healthcheck"]["test"]
    env_example = (BASE_DIR / ".env.example").read_text()
    assert "FLOWER_USER=" in env_example and "FLOWER_PASSWORD=" in env_example


def test_every_app_process_shares_one_metrics_folder():
    for name, service in SERVICES.items():
        if "build" not in service:
            continue
        assert service["environment"]["PROMETHEUS_MULTIPROC_DIR"] == "/app/var/metrics", name
        assert "metrics:/app/var/metrics" in service["volumes"], name
    assert "metrics" in COMPOSE["volumes"]
    assert "var/metrics" in (BASE_DIR / "Dockerfile").read_text()
