"""The apps in a project that is not mailsite, as a newcomer would set it up.

The wheel is built from pyproject.toml and installed, with its declared dependencies from the
package index, into an empty virtualenv made by the Python that `.ci/find-python` finds: once as
the base install and once with every extra. Nothing of this checkout is on that virtualenv's path,
so a dependency the wheel forgets to declare fails here as it would for a user.

The project, `elsewhere`, has a custom user model in an app of its own (`people`). Its settings,
URLs and Celery app are the blocks of docs/use-in-your-project.md, read from that page, followed
by what any project sets for itself (database, broker, its own SMTP server). It migrates, emails a
code, confirms one account by that code and another by its link, and a real `celery worker` of the
virtualenv delivers every email to an SMTP server on loopback.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from testing.fixtures import BASE_DIR, service_missing

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DOCS_PAGE = BASE_DIR / "docs" / "use-in-your-project.md"
PASSWORD = "correct-horse-battery-9"
INSTALL_TIMEOUT = 900  # seconds for pip to install the wheel and its dependencies


def run(command, cwd, timeout=300, **env):
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    result = subprocess.run(command, cwd=cwd, env=clean, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def docs_block(name):
    """The fenced Python block of the docs page whose first line is `# <name>`."""
    for block in re.findall(r"```python\n(.*?)```", DOCS_PAGE.read_text(), re.S):
        if block.splitlines()[0].split(" ", 2)[1] == name:
            return block
    raise AssertionError(f"{DOCS_PAGE.name} has no python block starting with '# {name}'")


@pytest.fixture(scope="session")
def wheel(tmp_path_factory):
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    (source / "docs").mkdir(parents=True)
    shutil.copy(BASE_DIR / "pyproject.toml", source / "pyproject.toml")
    shutil.copy(BASE_DIR / "docs" / "apps-readme.md", source / "docs" / "apps-readme.md")
    for app in ("accounts", "notifications"):
        shutil.copytree(BASE_DIR / app, source / app, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    run([*pip, "wheel", "--no-build-isolation", "--no-deps", "--no-index", "-w", str(root / "dist"), str(source)], root)
    return next((root / "dist").glob("mailsite_apps-*.whl"))


def _python_for_new_virtualenvs():
    found = subprocess.run([str(BASE_DIR / ".ci" / "find-python")], capture_output=True, text=True)
    if found.returncode != 0:
        service_missing(f".ci/find-python found no Python 3.12+: {found.stderr.strip()}")
    return found.stdout.strip()


@pytest.fixture(scope="session", params=["base", "all"])
def install(request, wheel, tmp_path_factory):
    """(extras, python) of an empty virtualenv with the wheel and what it declares."""
    root = tmp_path_factory.mktemp(f"venv-{request.param}")
    venv = root / "venv"
    run([_python_for_new_virtualenvs(), "-m", "venv", str(venv)], root)
    python = venv / "bin" / "python"
    requirement = str(wheel) if request.param == "base" else f"{wheel}[all]"
    env = {key: value for key, value in os.environ.items() if key.startswith("PIP_")}
    run([str(python), "-m", "pip", "install", "-q", requirement], root, timeout=INSTALL_TIMEOUT, **env)
    run([str(python), "-m", "pip", "check"], root)
    return request.param, python


PROJECT_SETTINGS = """\
    from pathlib import Path

    BASE_DIR = Path(__file__).resolve().parent.parent
    SECRET_KEY = "a foreign project's own secret key, long enough 0123456789"
    DEBUG = False
    ALLOWED_HOSTS = ["testserver", "localhost"]
    ROOT_URLCONF = "elsewhere.urls"
    USE_TZ = True
    INSTALLED_APPS = [
        "django.contrib.admin",
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
        "people",
    ]
    MIDDLEWARE = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    ]
    TEMPLATES = [{
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": [
            "django.template.context_processors.request",
            "django.contrib.auth.context_processors.auth",
            "django.contrib.messages.context_processors.messages",
        ]},
    }]
    DATABASES = {"default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"},
    }}
"""

PEOPLE_MODELS = """\
    from django.db import models

    from accounts.models import AbstractAccountsUser


    class Person(AbstractAccountsUser):
        nickname = models.CharField(max_length=40, blank=True)
"""


def project_make(root, *, smtp_port, redis_url=None):
    """The project `elsewhere` in `root`: its own settings and `people` app, then the docs' blocks."""
    (root / "elsewhere").mkdir(parents=True)
    (root / "people").mkdir()
    (root / "manage.py").write_text(
        "import os, sys\nfrom django.core.management import execute_from_command_line\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'elsewhere.settings')\nexecute_from_command_line(sys.argv)\n"
    )
    (root / "elsewhere" / "__init__.py").write_text("from .celery import app  # noqa: F401\n")
    (root / "elsewhere" / "celery.py").write_text(docs_block("celery.py").replace("yourproject", "elsewhere"))
    (root / "people" / "__init__.py").write_text("")
    (root / "people" / "models.py").write_text(textwrap.dedent(PEOPLE_MODELS))
    (root / "people" / "views.py").write_text(
        "from django.contrib.auth.decorators import login_required\nfrom django.http import HttpResponse\n\n\n"
        "@login_required\ndef me(request):\n"
        "    return HttpResponse(f'{request.user.__class__.__name__} {request.user.email}')\n"
    )
    broker = root / "broker"
    own = f"""\
        # The project's own choices, after the block from the docs.
        AUTH_USER_MODEL = "people.Person"
        SITE_URL = "https://elsewhere.example"
        DEFAULT_FROM_EMAIL = "Elsewhere <noreply@elsewhere.example>"
        MAILERS["transport"] = {{
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {{"host": "127.0.0.1", "port": {smtp_port}, "timeout": 10}},
        }}
        CELERY_BROKER_URL = "filesystem://"
        CELERY_BROKER_TRANSPORT_OPTIONS = {{
            "data_folder_in": "{broker}", "data_folder_out": "{broker}", "store_processed": False,
        }}
    """
    own = textwrap.dedent(own)
    if redis_url:  # every extra: the rate limits and the send rate shared through Redis
        own += textwrap.dedent(f"""\
        CACHES = {{"default": {{
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "{redis_url}",
            "KEY_PREFIX": "elsewhere-{os.getpid()}",
        }}}}
        NOTIFICATIONS_REDIS_URL = "{redis_url}"
        """)
    broker.mkdir()
    settings = textwrap.dedent(PROJECT_SETTINGS) + "\n" + docs_block("settings.py") + "\n" + own
    (root / "elsewhere" / "settings.py").write_text(settings)
    urls = docs_block("urls.py").replace(
        "    # ... your own URLs ...\n", '    path("me/", me),\n    path("admin/", admin.site.urls),\n'
    )
    imports = "from django.contrib import admin\n\nfrom people.views import me\n"
    (root / "elsewhere" / "urls.py").write_text(imports + urls)
    return root


def manage(python, project, *args):
    return run([str(python), "manage.py", *args], project)


def worker_start(python, project, log_path):
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [
            str(python),
            "-m",
            "celery",
            "-A",
            "elsewhere",
            "worker",
            "-P",
            "solo",
            "-l",
            "info",
            "-Q",
            "email-urgent,default,email-bulk",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "-n",
            f"elsewhere-{os.getpid()}@%h",
        ],
        cwd=project,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while b" ready." not in log_path.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"the worker did not start:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.2)
    return proc


FLOWS = f"""
import re
import time
from django.contrib.auth import get_user_model
from django.test import Client

def wait_confirmed(email):
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        user = get_user_model().objects.filter(email=email).first()
        if user is not None and user.email_confirmed_at is not None:
            return user
        time.sleep(0.3)
    raise SystemExit("no confirmed account for " + email)

def errors(response):
    return re.findall(r'<ul class="errorlist[^>]*>(.*?)</ul>', response.content.decode(), re.S)

browser = Client()
sent = browser.post("/accounts/code/?purpose=signup", {{"email": "newcomer@example.com"}})
print("code", sent.status_code, flush=True)
code = input()
form = {{"username": "newcomer", "password1": "{PASSWORD}", "password2": "{PASSWORD}"}}
signed = browser.post("/accounts/signup/", {{**form, "email": "newcomer@example.com", "code": code}})
print("signup-by-code", signed.status_code, errors(signed), flush=True)
user = wait_confirmed("newcomer@example.com")
print("confirmed", type(user).__name__, user.username, flush=True)

other = Client()
signed = other.post("/accounts/signup/", {{**form, "username": "second", "email": "second@example.com"}})
print("signup-by-link", signed.status_code, errors(signed), flush=True)
link = input()
page = other.get(link)
done = other.post(link)
print("confirm-page", page.status_code, done.status_code, flush=True)
user = wait_confirmed("second@example.com")
print("confirmed", type(user).__name__, user.username, flush=True)
print("me", other.get("/me/").content.decode(), flush=True)
"""


class Flows:
    """The FLOWS script in `manage.py shell`, spoken to line by line."""

    def __init__(self, python, project):
        self.proc = subprocess.Popen(
            [str(python), "manage.py", "shell", "--no-imports", "-c", FLOWS],
            cwd=project,
            env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.seen = []

    def expect(self, start):
        for line in self.proc.stdout:
            self.seen.append(line)
            if line.startswith(start):
                return line.split()
        raise AssertionError(f"no line {start!r} from the flows:\n{''.join(self.seen)[-4000:]}")

    def answer(self, text):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


def test_a_foreign_project_with_its_own_user_model_signs_up_through_a_worker(install, tmp_path, smtp_server):
    extras, python = install
    redis_url = None
    if extras == "all":
        redis_url = os.environ.get("REDIS_URL") or service_missing("every extra is tried with Redis (REDIS_URL)")
    project = project_make(tmp_path / "elsewhere", smtp_port=smtp_server.port, redis_url=redis_url)

    where = manage(python, project, "shell", "--no-imports", "-c", "import accounts; print(accounts.__file__)")
    assert str(python.parent.parent) in where, f"accounts came from {where}, not the virtualenv"
    manage(python, project, "makemigrations", "people", "-v", "0")
    checked = manage(python, project, "check")
    manage(python, project, "migrate", "--noinput", "-v", "0")
    manage(python, project, "makemigrations", "--check", "--dry-run")
    tables = manage(
        python,
        project,
        "shell",
        "--no-imports",
        "-c",
        "from django.db import connection; print(sorted(connection.introspection.table_names()))",
    )
    assert "people_person" in tables and "accounts_user'" not in tables  # accounts.User is swapped out

    api = "import accounts.api, notifications.api; print('api imported')"
    if extras == "base":
        assert "notifications.I001" in checked, checked  # metrics record nothing, and check says so
        result = subprocess.run(
            [str(python), "manage.py", "shell", "--no-imports", "-c", api],
            cwd=project,
            capture_output=True,
            text=True,
            env={"PATH": os.environ["PATH"]},
        )
        assert result.returncode != 0 and "mailsite-apps[api]" in result.stderr, result.stderr
    else:
        assert "notifications.I001" not in checked, checked
        assert "api imported" in manage(python, project, "shell", "--no-imports", "-c", api)

    worker = worker_start(python, project, tmp_path / "worker.log")
    flows = Flows(python, project)
    try:
        assert re.fullmatch(r"30[23]", flows.expect("code")[1])
        (mail,) = smtp_server.wait_for(1, timeout=60)
        assert mail["rcpt_tos"] == ["newcomer@example.com"]
        code = re.search(r"\b(\d{6})\b", mail["message"].get_body(("plain",)).get_content()).group(1)
        flows.answer(code)
        assert re.fullmatch(r"30[23]", flows.expect("signup-by-code")[1]), flows.seen[-1]
        assert flows.expect("confirmed")[1:] == ["Person", "newcomer"]

        assert re.fullmatch(r"30[23]", flows.expect("signup-by-link")[1]), flows.seen[-1]
        mails = smtp_server.wait_for(2, timeout=60)
        assert mails[1]["rcpt_tos"] == ["second@example.com"]
        body = mails[1]["message"].get_body(("plain",)).get_content()
        link = re.search(r"https://elsewhere\.example(/accounts/confirm/[^\s/]+/)", body).group(1)
        flows.answer(link)
        assert flows.expect("confirm-page")[1:] == ["200", "302"]
        assert flows.expect("confirmed")[1:] == ["Person", "second"]
        assert flows.expect("me")[1:] == ["Person", "second@example.com"]
    finally:
        flows.close()
        worker.terminate()
        worker.wait(20)
    assert "Task notifications.tasks.outbox_drain" in (tmp_path / "worker.log").read_text()
