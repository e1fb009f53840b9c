"""The worker's half of a recorded request, with every real part: a web server process whose
broker is down still records the request, and the sweeper, run by a real worker once the broker
is back, carries it out; with the broker up, the request's own task does."""

import http.client
import secrets
import subprocess
import sys
import time
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model

from accounts.models import Intent
from notifications.models import OutboundEmail
from testing.fixtures import BASE_DIR, worker_env
from testing.servers import free_port

from .support import PASSWORD


@pytest.fixture(autouse=True)
def intents_inline(settings):
    settings.ACCOUNTS_INTENTS_INLINE = False


def wait_until(condition, what, timeout=60.0, log=lambda: ""):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{log()}")
        time.sleep(0.1)


@pytest.fixture
def web_without_broker(transactional_db, redis_client, tmp_path):
    """gunicorn on the test database and Redis, whose Celery broker is a port nobody listens on."""
    port = free_port()
    log_path = tmp_path / "web.log"
    env = worker_env(CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0", ALLOWED_HOSTS="127.0.0.1")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "mailsite.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "1"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: b"Booting worker" in log_path.read_bytes(), "gunicorn", log=log_path.read_text)
        time.sleep(0.5)
        yield port, log_path
    finally:
        proc.terminate()
        proc.wait(15)


def post_form(port, path, fields):
    token = secrets.token_hex(16)  # a CSRF cookie and the same value in the form, as a browser sends
    body = urlencode({**fields, "csrfmiddlewaretoken": token})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={token}"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_intent_made_while_the_broker_is_down_is_carried_out_by_the_sweeper(web_without_broker, worker_factory):
    port, log_path = web_without_broker
    fields = {"email": "new@example.com", "username": "newbie", "password1": PASSWORD, "password2": PASSWORD}
    assert post_form(port, "/accounts/signup/", fields) == 302, log_path.read_text()
    assert b"left for the sweeper" in log_path.read_bytes()
    assert Intent.objects.filter(kind="signup", email="new@example.com").exists()
    assert not get_user_model().objects.exists()

    # The broker is back (the test's Redis): beat's sweep task reaches a worker.
    worker = worker_factory(ACCOUNTS_INTENT_SWEEP_AFTER=0)
    from mailsite.celery import app

    app.send_task("accounts.tasks.intents_sweep")
    wait_until(lambda: not Intent.objects.exists(), "the sweep", log=worker.log)
    user = get_user_model().objects.get(email="new@example.com")
    assert user.email_confirmed_at is None
    assert OutboundEmail.objects.get(recipients="new@example.com").template == "confirm"


@pytest.mark.django_db(transaction=True)
def test_requests_tasks_are_carried_out_by_a_worker(worker_factory, user_factory, smtp_server, client, settings):
    settings.ACCOUNTS_RATE_LIMITS_ENABLED = False
    user_factory("ada@example.com")
    worker = worker_factory(smtp_url=smtp_server.url)
    assert client.post("/accounts/password/reset/", {"email": "ada@example.com"}).status_code == 302
    assert client.post("/accounts/login/code/", {"email": "ada@example.com"}).status_code == 302
    assert client.post("/accounts/code/?purpose=signup", {"email": "new@example.com"}).status_code == 302
    received = smtp_server.wait_for(3)
    subjects = sorted((m["rcpt_tos"][0], m["message"]["Subject"]) for m in received)
    assert [to for to, _subject in subjects] == ["ada@example.com", "ada@example.com", "new@example.com"], worker.log()
    assert not Intent.objects.exists()
