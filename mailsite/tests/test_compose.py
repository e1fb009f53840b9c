"""docker-compose.yml and the Dockerfile cannot rot: no Docker engine runs here, so every service's
command is checked against the code it names (manage.py subcommands, the Celery app and its
queues, the gunicorn WSGI target)."""

import importlib
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from celery.bin.celery import celery as celery_cli
from django.conf import settings
from django.core.management import get_commands

BASE_DIR = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = {name: service for name, service in SERVICES.items() if "build" in service}
QUEUES = {queue.name for queue in settings.CELERY_TASK_QUEUES}


def option(command, *names):
    for index, word in enumerate(command):
        if word in names:
            return command[index + 1]
        for name in names:
            if name.startswith("--") and word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def check_entry_point(command):
    """Fail unless `command` (a list) starts a real entry point of this project."""
    program = command[0]
    if program == "python":
        assert command[1] == "manage.py", command
        assert command[2] in get_commands(), f"manage.py has no {command[2]!r} command"
    elif program == "celery":
        assert option(command, "-A", "--app") == "mailsite"
        assert importlib.import_module("mailsite.celery").app.main == "mailsite"
        subcommand = next(word for word in command[1:] if word in celery_cli.commands)
        assert subcommand in ("worker", "beat"), command
        for queue in (option(command, "-Q", "--queues") or "").split(","):
            assert not queue or queue in QUEUES, f"queue {queue!r} is not in CELERY_TASK_QUEUES"
    elif program == "gunicorn":
        assert importlib.util.find_spec("gunicorn"), "gunicorn is not installed (requirements.txt)"
        target = next(word for word in command[1:] if ":" in word and not word.startswith("-"))
        module, attribute = target.split(":")
        assert callable(getattr(importlib.import_module(module), attribute)), target
    else:
        pytest.fail(f"unknown entry point {program!r}")
    assert Path(sys.executable).with_name(program).exists() or program == "python", program


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_each_app_service_runs_a_real_entry_point(name):
    command = APP_SERVICES[name]["command"]
    assert isinstance(command, list), "use the exec form, so signals reach the process"
    check_entry_point(command)


def test_the_expected_services_are_there():
    assert {"web", "worker-urgent", "worker-bulk", "beat", "redis", "postgres"} <= set(SERVICES)
    assert APP_SERVICES["web"]["command"][0] == "gunicorn"
    assert "beat" in APP_SERVICES["beat"]["command"]


def test_every_queue_has_exactly_one_worker_service():
    consumed = []
    for service in APP_SERVICES.values():
        command = service["command"]
        if command[0] == "celery" and "worker" in command:
            queues = option(command, "-Q", "--queues")
            assert queues, "a production worker names its queues"
            consumed.extend(queues.split(","))
    assert sorted(consumed) == sorted(QUEUES)


def test_long_running_services_have_healthchecks_and_dependencies_exist():
    for name, service in SERVICES.items():
        if service.get("restart") != "no":
            assert "healthcheck" in service, f"{name} has no healthcheck"
        for dependency in service.get("depends_on", {}):
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"


def test_app_services_read_dot_env_and_the_service_urls():
    for name, service in APP_SERVICES.items():
        assert {"path": ".env", "required": False} in service["env_file"], name
        environment = service["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://") and "@postgres:" in environment["DATABASE_URL"]
        assert environment["REDIS_URL"].startswith("redis://redis:")
        assert "SECRET_KEY" in environment


def test_env_example_names_only_variables_something_reads():
    """Each variable in .env.example is read by the settings module or by the compose file."""
    settings_source = (BASE_DIR / "mailsite" / "settings.py").read_text()
    compose_source = (BASE_DIR / "docker-compose.yml").read_text()
    for line in (BASE_DIR / ".env.example").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name = line.split("=", 1)[0]
        assert f'"{name}"' in settings_source or f"${{{name}" in compose_source, f"nothing reads {name}"


def test_dockerfile_installs_the_requirements_and_serves_the_same_app():
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    assert "pip install -r requirements.txt" in dockerfile
    assert "collectstatic" in dockerfile
    cmd = json.loads(re.search(r"^CMD (.+)$", dockerfile, re.M).group(1))
    assert cmd == APP_SERVICES["web"]["command"]
    check_entry_point(cmd)
    for line in re.findall(r"^RUN .*manage\.py (\w+)", dockerfile, re.M):
        assert line in get_commands()
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in settings.MIDDLEWARE  # serves what was collected


def test_healthcheck_commands_use_real_programs():
    for name, service in SERVICES.items():
        test = service.get("healthcheck", {}).get("test")
        if not test:
            continue
        words = test[1:] if test[0] == "CMD" else shlex.split(test[1])
        if name in APP_SERVICES and words[0] == "celery":
            assert option(words, "-A") == "mailsite" and "inspect" in words
            node = option(words, "-d").split("@")[0]
            assert f"{node}@%h" in APP_SERVICES[name]["command"], f"{name} pings a node it does not start"


def test_gunicorn_loads_the_web_services_app():
    command = APP_SERVICES["web"]["command"]
    target = next(word for word in command[1:] if ":" in word and not word.startswith("-"))
    env = {**os.environ, "SECRET_KEY": "s" * 50, "DEBUG": "0"}
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    result = subprocess.run(
        [gunicorn, "--check-config", target], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
