"""The apps in projects that are not mailsite, as a newcomer would use them: the wheel built from
pyproject.toml, installed into a fresh virtualenv, and two minimal projects run in subprocesses.

The virtualenv gets the wheel only (--no-deps); Django and the other dependencies come from this
environment's site-packages through a .pth file, so the test needs no network. The mailsite
checkout is never on the foreign projects' path: what they import is what the wheel holds.
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from testing.fixtures import BASE_DIR

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def run(command, cwd, **env):
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    result = subprocess.run(command, cwd=cwd, env=clean, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="session")
def apps_python(tmp_path_factory):
    """The Python of a fresh virtualenv holding the built wheel."""
    root = tmp_path_factory.mktemp("apps")
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(BASE_DIR / name, source / name)
    for app in ("accounts", "notifications"):
        shutil.copytree(BASE_DIR / app, source / app, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    run([*pip, "wheel", "--no-build-isolation", "--no-deps", "--no-index", "-w", str(root / "dist"), str(source)], root)
    wheel = next((root / "dist").glob("mailsite_apps-*.whl"))

    venv = root / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], root)
    python = venv / "bin" / "python"
    run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)], root)
    purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], root).strip()
    # Django, Celery, Anymail...: from this environment, after the virtualenv's own packages.
    Path(purelib, "shared-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def project_make(root, *, settings, urls="urlpatterns = []"):
    """A minimal Django project `elsewhere` in `root`: manage.py, settings, urls and a Celery app."""
    (root / "elsewhere").mkdir(parents=True)
    (root / "manage.py").write_text(
        "import sys\nfrom django.core.management import execute_from_command_line\n"
        "execute_from_command_line(sys.argv)\n"
    )
    (root / "elsewhere" / "__init__.py").write_text("from .celery import app  # noqa: F401\n")
    (root / "elsewhere" / "celery.py").write_text(
        textwrap.dedent("""\
        from celery import Celery

        app = Celery("elsewhere")
        app.config_from_object("django.conf:settings", namespace="CELERY")
        app.autodiscover_tasks()
        """)
    )
    common = f"""\
        SECRET_KEY = "a foreign project's own secret key, long enough 0123456789"
        DEBUG = False
        ALLOWED_HOSTS = ["testserver", "localhost"]
        ROOT_URLCONF = "elsewhere.urls"
        USE_TZ = True
        DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {str(root / "db.sqlite3")!r}}}}}
        # Delivery runs in the process that commits (a worker would run the same task).
        CELERY_TASK_ALWAYS_EAGER = True
        CELERY_BROKER_URL = "memory://"
    """
    (root / "elsewhere" / "settings.py").write_text(textwrap.dedent(common) + textwrap.dedent(settings))
    (root / "elsewhere" / "urls.py").write_text(textwrap.dedent(urls))
    return root


def manage(python, project, *args):
    return run([str(python), "manage.py", *args], project, DJANGO_SETTINGS_MODULE="elsewhere.settings")


def assert_from_the_wheel(python, project, app):
    where = manage(python, project, "shell", "--no-imports", "-c", f"import {app}; print({app}.__file__)").strip()
    assert str(python.parent.parent) in where, f"{app} came from {where}, not the virtualenv"


def test_notifications_alone_with_djangos_user_delivers_send_mail(apps_python, tmp_path, smtp_server):
    project = project_make(
        tmp_path / "outbox_only",
        settings=f"""\
        INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "notifications"]
        MAILERS = {{
            "default": {{"BACKEND": "notifications.backends.OutboxBackend"}},
            "transport": {{
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {{"host": "127.0.0.1", "port": {smtp_server.port}, "timeout": 10}},
            }},
        }}
        """,
    )
    assert_from_the_wheel(apps_python, project, "notifications")
    manage(apps_python, project, "check")
    manage(apps_python, project, "migrate", "--noinput", "-v", "0")
    manage(apps_python, project, "makemigrations", "--check", "--dry-run")

    status = manage(
        apps_python,
        project,
        "shell",
        "--no-imports",
        "-c",
        "from django.core.mail import send_mail; from notifications.models import OutboundEmail; "
        "send_mail('Hello from elsewhere', 'Sent through the outbox.', 'site@example.com', ['reader@example.com']); "
        "print(OutboundEmail.objects.get().status)",
    )

    assert status.strip() == "sent"
    (received,) = smtp_server.wait_for(1)
    assert received["rcpt_tos"] == ["reader@example.com"]
    assert received["message"]["Subject"] == "Hello from elsewhere"
    assert "Sent through the outbox." in received["message"].get_body(("plain",)).get_content()


def test_both_apps_with_other_languages_and_no_templates_sign_up_by_code(apps_python, tmp_path, smtp_server):
    project = project_make(
        tmp_path / "with_accounts",
        settings=f"""\
        INSTALLED_APPS = [
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "accounts",
            "notifications",
        ]
        AUTH_USER_MODEL = "accounts.User"
        LANGUAGE_CODE = "de"
        LANGUAGES = [("de", "Deutsch"), ("fr", "Français")]
        MIDDLEWARE = [
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.locale.LocaleMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ]
        TEMPLATES = [{{
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": True,
            "OPTIONS": {{"context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]}},
        }}]
        SITE_URL = "https://elsewhere.example"
        MAILERS = {{
            "default": {{"BACKEND": "notifications.backends.OutboxBackend"}},
            "transport": {{
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {{"host": "127.0.0.1", "port": {smtp_server.port}, "timeout": 10}},
            }},
        }}
        """,
        urls="""\
        from django.urls import include, path

        urlpatterns = [path("accounts/", include("accounts.urls"))]
        """,
    )
    assert_from_the_wheel(apps_python, project, "accounts")
    manage(apps_python, project, "check")
    manage(apps_python, project, "migrate", "--noinput", "-v", "0")
    manage(apps_python, project, "makemigrations", "--check", "--dry-run")  # LANGUAGES made no migration

    output = manage(
        apps_python,
        project,
        "shell",
        "--no-imports",
        "-c",
        "from django.test import Client; client = Client(); "
        "page = client.get('/accounts/signup/'); print('signup', page.status_code, b'<form' in page.content); "
        "sent = client.post('/accounts/code/?purpose=signup', {'email': 'newcomer@example.com'}); "
        "print('code', sent.status_code)",
    )

    assert "signup 200 True" in output
    assert re.search(r"code 30[23]", output), output
    (received,) = smtp_server.wait_for(1)
    assert received["rcpt_tos"] == ["newcomer@example.com"]
    body = received["message"].get_body(("plain",)).get_content()
    assert re.search(r"\b\d{6}\b", body), body
