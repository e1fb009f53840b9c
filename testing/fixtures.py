"""Shared fixtures: real services (PostgreSQL, Redis), a real SMTP server and a real worker.

Service-backed tests read REDIS_URL / DATABASE_URL (given, or the throwaway servers that
testing/servers.py started). Without them they skip with a reason, unless REQUIRE_SERVICES=1 (as
in CI), where a missing service fails the test instead.
"""

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from . import ownership
from .servers import NOT_STARTED, free_port

BASE_DIR = Path(__file__).resolve().parent.parent
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"

OUTBOX_MAILERS = {
    "default": {"BACKEND": "notifications.backends.OutboxBackend"},
    "transport": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
}


def service_missing(reason):
    """Skip, or fail when the run promised that every service is there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


# Hashing is made slow on purpose; tests that are not about it need not pay for it.
FAST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher():
    project_hashers = list(settings.PASSWORD_HASHERS)
    with override_settings(PASSWORD_HASHERS=FAST_PASSWORD_HASHERS):
        yield project_hashers


@pytest.fixture
def project_password_hashers(_fast_password_hasher, settings):
    """The project's own (slow) hashers, for a test about how passwords are stored."""
    settings.PASSWORD_HASHERS = _fast_password_hasher


@pytest.fixture(autouse=True, scope="session")
def _heartbeat_dir(tmp_path_factory):
    """Heartbeat files (mailsite/health.py) of this run's processes go to a folder of its own."""
    with override_settings(HEALTH_HEARTBEAT_DIR=str(tmp_path_factory.mktemp("heartbeat"))):
        yield


@pytest.fixture(autouse=True)
def _outbox_mailers():
    """Django's test runner swaps every mailer for locmem; put the outbox back as the default, so
    tests see the project's real path (rows, then a transport), with locmem as the transport."""
    with override_settings(MAILERS=OUTBOX_MAILERS):
        from notifications.outbox import delivery

        delivery.transport_reset()
        yield
        delivery.transport_reset()


# ------------------------------------------------------------------------------------------------
# Redis and PostgreSQL
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def redis_client():
    url = os.environ.get("REDIS_URL")
    if not url:
        service_missing(NOT_STARTED.get("REDIS_URL", "REDIS_URL is not set (a Redis server is needed)"))
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as error:
        service_missing(f"Redis at {url} is not reachable: {error}")
    try:
        ownership.redis_claim(url)  # checked at start-up already; Redis may have been down then
    except ownership.Refused as refused:
        pytest.exit(str(refused), returncode=pytest.ExitCode.USAGE_ERROR)
    ownership.redis_flush(url)
    yield client
    ownership.redis_flush(url)


@pytest.fixture
def redis_cache(redis_client):
    """The default cache is django-redis (REDIS_URL set at settings import); cleared for the test."""
    from django.core.cache import cache

    assert "django_redis" in settings.CACHES["default"]["BACKEND"]
    cache.clear()
    yield cache
    cache.clear()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, marked as the tests' own as soon as it exists, so a run
    that is killed before dropping it leaves a database the next run may replace."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            from psycopg import sql

            name = connection.settings_dict["NAME"]
            cursor.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(ownership.MARKER))
            )
    yield


@pytest.fixture
def postgres(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        service_missing(NOT_STARTED.get("DATABASE_URL", "DATABASE_URL does not point at PostgreSQL"))
    return connection


# ------------------------------------------------------------------------------------------------
# A real SMTP server (aiosmtpd) on a free loopback port
# ------------------------------------------------------------------------------------------------
class RecordingHandler:
    """Keeps every accepted message. `responses` scripts replies to DATA: each item is an SMTP
    reply such as "451 4.3.0 try later", or None to accept; once empty, every message is
    accepted. `delay` seconds are waited before each reply; an accepted message is kept before
    that wait, as a real MTA queues it before answering 250. `data_started` counts DATA commands
    received in full (the message is with the server, its reply not yet sent); each record keeps
    the client's `peer` address, so distinct peers are distinct connections, and `raw`, the
    bytes exactly as the client sent them after DATA; `ehlo` counts EHLOs."""

    def __init__(self):
        self.messages = []
        self.responses = []
        self.delay = 0.0
        self.data_started = 0
        self.ehlo = 0
        self.received = queue.Queue()
        self._lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        self.ehlo += 1
        return responses

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        self.data_started += 1
        with self._lock:
            scripted = self.responses.pop(0) if self.responses else None
        if scripted:
            if self.delay:
                await asyncio.sleep(self.delay)
            return scripted
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.content, policy=policy.default)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "message": message,
            "raw": envelope.original_content or envelope.content,
            "peer": session.peer,
        }
        self.messages.append(record)
        self.received.put(record)
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 OK"


class SMTPServer:
    def __init__(self, handler, port, controller):
        self.handler = handler
        self.port = port
        self.controller = controller

    @property
    def messages(self):
        return self.handler.messages

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    def wait_for(self, count, timeout=30.0):
        """Block until at least `count` messages arrived; return them all."""
        deadline = time.monotonic() + timeout
        while len(self.handler.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} message(s), got {len(self.handler.messages)}")
            time.sleep(0.05)
        return self.handler.messages

    def stop(self):
        self.controller.stop()


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    server = SMTPServer(handler, port, controller)
    yield server
    try:
        controller.stop()
    except Exception:  # already stopped by the test
        pass


# ------------------------------------------------------------------------------------------------
# A real `celery worker` process
# ------------------------------------------------------------------------------------------------
class WorkerProcess:
    def __init__(self, env, log_path, queues=None, pool="solo", concurrency=1):
        self.env = env
        self.log_path = log_path
        self.queues = queues  # e.g. "email-urgent": consume only these (default: every queue)
        self.pool = pool  # "solo", "threads" or "gevent"
        self.concurrency = concurrency
        self.proc = None

    def start(self, timeout=40.0):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "mailsite",
                "worker",
                f"--pool={self.pool}",
                f"--concurrency={self.concurrency}",
                "-l",
                "info",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
                "-n",
                f"test-{os.getpid()}-{self.log_path.stem}@%h",
                *(["-Q", self.queues] if self.queues else []),
            ],
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while b" ready." not in self.log_path.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery worker did not start:\n{self.log()}")
            time.sleep(0.1)
        return self

    def log(self):
        return self.log_path.read_text(errors="replace")[-6000:]

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def worker_env(smtp_url=None, **extra):
    """Environment for a subprocess of this project that shares the test database and Redis."""
    from django.db import connection

    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="mailsite.settings",
        SECRET_KEY=settings.SECRET_KEY,
        DATABASE_URL=(
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
            f"/{db['NAME']}"
        ),
        REDIS_URL=os.environ["REDIS_URL"],
        NOTIFICATIONS_RETRY_BASE="0.2",
        NOTIFICATIONS_RETRY_MAX="2",
        HEALTH_HEARTBEAT_DIR=str(settings.HEALTH_HEARTBEAT_DIR),
        PYTHONUNBUFFERED="1",
    )
    if smtp_url:
        env.update(EMAIL_PROVIDER="smtp", EMAIL_URL=smtp_url)
    env.update({key: str(value) for key, value in extra.items()})
    return env


@pytest.fixture
def worker_factory(transactional_db, redis_client, tmp_path):
    """Start real worker processes: worker_factory(smtp_url=..., queues=None, **env). Needs
    PostgreSQL, so the worker and the test share one database; the test must commit what the
    worker should see."""
    from django.db import connection

    if connection.vendor != "postgresql":
        service_missing("a worker process needs DATABASE_URL pointing at PostgreSQL")
    workers = []

    def start(smtp_url=None, queues=None, pool="solo", concurrency=1, **extra):
        log_path = tmp_path / f"worker-{len(workers)}.log"
        worker = WorkerProcess(worker_env(smtp_url, **extra), log_path, queues, pool, concurrency)
        workers.append(worker)
        return worker.start()

    yield start
    for number, worker in enumerate(workers):
        worker.stop()
        print(f"--- worker {number} log (tail)\n{worker.log()}")  # shown when the test failed
    connection.close()  # the worker's rows are committed; let pytest-django flush cleanly


@pytest.fixture(autouse=True, scope="session")
def _in_memory_broker_without_redis():
    """Without REDIS_URL the project's broker is a folder under var/; tests must not fill it."""
    if not os.environ.get("REDIS_URL"):
        from mailsite.celery import app

        app.conf.broker_url = "memory://"
    yield


class Outbox:
    """The outbox as a test reads it: deliver queued rows in-process (through the transport mailer,
    locmem in tests) and read what arrived in django.core.mail.outbox, as a person reads mail."""

    def rows(self, **filters):
        from notifications.models import OutboundEmail

        return OutboundEmail.objects.filter(**filters).order_by("id")

    def deliver(self):
        from django.core import mail

        from notifications.models import OutboundEmail
        from notifications.outbox import delivery

        ids = list(OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED).values_list("pk", flat=True))
        delivery.deliver_many(ids)
        return mail.outbox

    def messages_to(self, address):
        return [m for m in self.deliver() if address in m.recipients()]

    def last_to(self, address):
        found = self.messages_to(address)
        assert found, f"no email to {address}"
        return found[-1]


@pytest.fixture
def outbox(db, mailoutbox):
    return Outbox()


class ReceivedMail:
    """One message as the SMTP server received it: the envelope's recipients, the raw bytes, and
    what a mail client shows after parsing those bytes (subject, text body, HTML body)."""

    def __init__(self, record):
        from email import message_from_bytes, policy

        self.rcpt_tos = record["rcpt_tos"]
        self.raw = record["raw"]
        self.message = message_from_bytes(self.raw, policy=policy.default)
        self.subject = self.message["Subject"]
        self.body = self.message.get_body(("plain",)).get_content()
        html = self.message.get_body(("html",))
        self.html = html.get_content() if html is not None else None


class SMTPInbox:
    """The outbox delivered through the real transport code (delivery.deliver_many, Django's SMTP
    backend) to the loopback aiosmtpd server, and read back from the bytes that server received,
    as a front end's user reads their mail. A real worker does the same in the *_worker tests."""

    def __init__(self, server):
        self.server = server

    def deliver(self):
        from notifications.models import OutboundEmail
        from notifications.outbox import delivery

        queued = OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED)
        ids = list(queued.values_list("pk", flat=True))
        before = len(self.server.messages)
        delivery.deliver_many(ids)
        sent = OutboundEmail.objects.filter(pk__in=ids, status=OutboundEmail.Status.SENT).count()
        return self.server.wait_for(before + sent)

    def messages_to(self, address):
        return [ReceivedMail(record) for record in self.deliver() if address in record["rcpt_tos"]]

    def last_to(self, address):
        found = self.messages_to(address)
        assert found, f"the SMTP server received no email to {address}"
        return found[-1]


@pytest.fixture
def smtp_inbox(db, smtp_server):
    """Mail goes out through SMTP to `smtp_server`; read it with smtp_inbox.last_to(address)."""
    from notifications.outbox import delivery

    transport = {"BACKEND": "django.core.mail.backends.smtp.EmailBackend"}
    transport["OPTIONS"] = {"host": "127.0.0.1", "port": smtp_server.port}
    delivery.transport_reset()
    with override_settings(MAILERS={**OUTBOX_MAILERS, "transport": transport}):
        yield SMTPInbox(smtp_server)
        delivery.transport_reset()
