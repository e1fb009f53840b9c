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


def _manage_health(test):
    """The argv after `python manage.py` of a healthcheck that runs the health command, or None."""
    words = test[1:] if test[0] == "CMD" else test[1].split()
    if words[:3] == ["python", "manage.py", "health"]:
        return words[2:]
    return None


def test_worker_and_beat_containers_probe_their_own_process_with_the_health_command():
    from django.core.management import load_command_class

    command = load_command_class("mailsite", "health")
    for name, process in {"worker-urgent": "worker", "worker-bulk": "worker", "beat": "beat"}.items():
        argv = _manage_health(SERVICES[name]["healthcheck"]["test"])
        assert argv is not None, f"{name} is not probed by manage.py health"
        options = command.create_parser("manage.py", "health").parse_args(argv[1:])
        assert options.process == process, name
        assert not options.checks, f"{name}'s probe must not depend on other services"


def test_the_web_probe_is_readiness_not_the_deep_check():
    probe = " ".join(SERVICES["web"]["healthcheck"]["test"])
    assert "/readyz" in probe and "/healthz/deep" not in probe
