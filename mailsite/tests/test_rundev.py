"""`make run` (manage.py rundev) as a developer meets it: started on another port, its mail links
point at that port, and its log shows the email lines, one line per request and errors, without
Celery's chatter, until the verbosity asks for it."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from mailsite.management.commands.rundev import QUIET_LOG_LEVELS, Command, site_url
from testing.fixtures import BASE_DIR
from testing.servers import free_port


@pytest.mark.parametrize(
    ("addrport", "url"),
    [
        ("127.0.0.1:8001", "http://127.0.0.1:8001"),
        ("8002", "http://127.0.0.1:8002"),
        ("0.0.0.0:8003", "http://127.0.0.1:8003"),
        ("localhost:8004", "http://localhost:8004"),
        ("[::1]:8005", "http://[::1]:8005"),
    ],
)
def test_site_url_follows_the_address_given(addrport, url, monkeypatch):
    monkeypatch.delenv("SITE_URL", raising=False)
    assert site_url(addrport) == url
    assert Command._env(addrport)["SITE_URL"] == url


def test_a_site_url_that_is_set_wins(monkeypatch):
    monkeypatch.setenv("SITE_URL", "https://dev.example.com")
    assert Command._env("127.0.0.1:8001")["SITE_URL"] == "https://dev.example.com"


def test_the_verbosity_chooses_the_log_levels(monkeypatch):
    monkeypatch.delenv("LOG_LEVELS", raising=False)
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    assert Command._env(verbosity=1)["LOG_LEVELS"] == QUIET_LOG_LEVELS
    assert "LOG_LEVEL" not in Command._env(verbosity=1)
    assert Command._env(verbosity=0)["LOG_LEVEL"] == "WARNING"
    assert "LOG_LEVELS" not in Command._env(verbosity=2)


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback http)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def wait_until(condition, what, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_make_run_on_another_port_links_there_and_logs_what_a_developer_acts_on(tmp_path, redis_client):
    """The worker and beat share the test's Redis db (redis_client empties it before and after)."""
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("SITE_URL", "LOG_LEVELS", "LOG_LEVEL", "DATABASE_URL", "EMAIL_PROVIDER")
    }
    env.update(
        DEBUG="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        PYTHONUNBUFFERED="1",
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=BASE_DIR, env=env, check=True, timeout=300)
    log_path = tmp_path / "rundev.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [*manage, "rundev", f"127.0.0.1:{port}"], cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        site = f"http://127.0.0.1:{port}"

        def answers():
            try:
                return get(f"{site}/accounts/login/") == 200
            except OSError:
                return False

        wait_until(answers, "the web server")
        assert get(f"{site}/no/such/page/") == 404
        subprocess.run([*manage, "sendtestemail", "reader@example.com"], cwd=BASE_DIR, env=env, check=True, timeout=120)
        line = wait_until(
            lambda: re.search(rb"email to reader@example.com: .*", log_path.read_bytes()), "the email line"
        )
        # The mail's links (here, the mailbox's) point at the port the server listens on.
        assert f"  {site}/dev/mailbox/".encode() in line[0], line[0]
        time.sleep(2)  # beat's and the worker's lines of that delivery, if any were to come
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    lines = log_path.read_text(errors="replace").splitlines()
    text = "\n".join(lines)
    assert f"rundev: SITE_URL={site}, log verbosity 1" in text
    # One line per request: ours (route and request id), not runserver's "GET /... HTTP/1.1" too.
    assert [line for line in lines if "accounts/login/" in line and "mailsite.request" in line], text
    assert not [line for line in lines if '"GET /accounts/login/ HTTP/1.1"' in line], text
    # Errors and warnings still show: the 404 is Django's "Not Found" warning.
    assert [line for line in lines if "WARNING django.request" in line and "Not Found" in line], text
    # No Celery chatter: no INFO line of celery.*, no banner.
    assert not [line for line in lines if re.search(r" INFO celery", line)], text
    assert "Task notifications" not in text and "Sending due task" not in text, text
    assert "-------------- celery@" not in text, text
