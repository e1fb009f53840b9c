"""Faults on the real path: a celery worker process, Redis, PostgreSQL and an aiosmtpd server.

Each test breaks one part (the SMTP server's answers, the server itself, the broker, the worker)
and shows what happens to the row and to what the server received.
"""

import subprocess
import sys

from aiosmtpd.controller import Controller
from django.core import mail
from django.utils import timezone

from notifications import tasks
from notifications.conf import settings
from notifications.models import OutboundEmail
from testing.fixtures import BASE_DIR, RecordingHandler, SMTPServer, free_port, worker_env

from .helpers import broker_idle, wait_log, wait_status, wait_until


def send_one(subject="Hello"):
    mail.send_mail(subject, "Body text", "from@example.com", ["to@example.com"])
    return OutboundEmail.objects.get(subject=subject)


def test_451_then_250_is_retried_and_delivered_once(worker_factory, smtp_server):
    smtp_server.handler.responses = ["451 4.2.0 Mailbox temporarily unavailable"]
    worker = worker_factory(smtp_url=smtp_server.url)

    row = wait_status(send_one().pk, "sent")

    assert row.attempts == 2, worker.log()
    assert smtp_server.handler.data_started == 2  # refused once, accepted once
    assert len(smtp_server.messages) == 1
    assert smtp_server.messages[0]["message"]["Subject"] == "Hello"
    assert row.last_error == ""


def test_550_fails_at_once_and_keeps_the_error(worker_factory, smtp_server, redis_client):
    smtp_server.handler.responses = ["550 5.1.1 No such user here"]
    worker = worker_factory(smtp_url=smtp_server.url)

    row = wait_status(send_one().pk, "failed")
    wait_log(worker, "succeeded")  # the task has finished
    # The ack follows the log line; a retry would stay reserved ("unacked") until its countdown ends.
    wait_until(lambda: broker_idle(redis_client), "the broker to hold no task: no retry was scheduled")

    assert "Retry in" not in worker.log()
    assert row.attempts == 1
    assert "550" in row.last_error and "No such user here" in row.last_error
    assert smtp_server.messages == []
    assert OutboundEmail.objects.get(pk=row.pk).attempts == 1


def test_server_down_is_retried_until_it_comes_up(worker_factory):
    port = free_port()  # nothing listens here yet
    worker = worker_factory(smtp_url=f"smtp://127.0.0.1:{port}", NOTIFICATIONS_MAX_ATTEMPTS=100)
    pk = send_one().pk

    retried = wait_until(
        lambda: OutboundEmail.objects.filter(pk=pk, status="queued", attempts__gte=2).first(),
        "two refused attempts",
    )
    assert "Connection refused" in retried.last_error or "ConnectionRefused" in retried.last_error

    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        server = SMTPServer(handler, port, controller)
        row = wait_status(pk, "sent")
        assert [m["message"]["Subject"] for m in server.wait_for(1)] == ["Hello"]
        assert row.attempts >= 3 and row.last_error == "", worker.log()
    finally:
        controller.stop()


def test_broker_down_at_enqueue_leaves_the_row_queued_for_the_sweeper(worker_factory, smtp_server, redis_client):
    dead_broker = f"redis://127.0.0.1:{free_port()}/0"
    env = worker_env(smtp_server.url, CELERY_BROKER_URL=dead_broker)
    code = (
        "from django.core.mail import send_mail; "
        "send_mail('Sent while the broker is down', 'Body', 'from@example.com', ['to@example.com']); "
        "print('send_mail returned')"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    # The sender is not troubled: the row is stored, the failure to publish is only logged.
    assert result.returncode == 0, result.stderr
    assert "send_mail returned" in result.stdout
    assert "could not enqueue" in result.stderr
    row = OutboundEmail.objects.get()
    assert row.status == "queued" and row.enqueued_at is None
    assert broker_idle(redis_client)

    worker = worker_factory(smtp_url=smtp_server.url)
    tasks.outbox_sweep.delay()  # what beat publishes every minute

    row = wait_status(row.pk, "sent")
    assert [m["message"]["Subject"] for m in smtp_server.wait_for(1)] == ["Sent while the broker is down"]
    assert row.attempts == 1, worker.log()


def test_worker_killed_mid_send_is_delivered_after_restart(worker_factory, smtp_server):
    """The server has the whole message and is slow to answer when the worker dies. The server
    accepts it anyway, so the sweeper's redelivery is a duplicate: the one case the README
    describes. Both copies carry the same Message-ID, so a receiver can drop the second."""
    smtp_server.handler.delay = 3.0
    first = worker_factory(smtp_url=smtp_server.url, NOTIFICATIONS_SEND_LEASE=2)
    pk = send_one().pk

    wait_until(lambda: smtp_server.handler.data_started >= 1, "the message to reach the server")
    first.kill()
    smtp_server.handler.delay = 0.0
    row = OutboundEmail.objects.get(pk=pk)
    assert row.status == "sending" and row.attempts == 1  # the dead worker never recorded the outcome

    worker_factory(smtp_url=smtp_server.url, NOTIFICATIONS_SEND_LEASE=2)
    wait_until(lambda: timezone.now() > row.lease_until, "the dead worker's lease to expire")
    tasks.outbox_sweep.delay()

    row = wait_status(pk, "sent")
    received = smtp_server.wait_for(2)
    assert row.attempts == 2
    assert len(received) == 2, "expected the documented duplicate"
    assert received[0]["message"]["Message-ID"] == received[1]["message"]["Message-ID"]


def test_worker_killed_before_the_server_has_the_message_sends_once(worker_factory, smtp_server):
    """Killed before DATA completes (here: the worker dies while the row is claimed but the
    server has nothing), the redelivery is the only copy."""
    port = free_port()  # a server that accepts TCP but never greets: the send hangs
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", port))
    listener.listen(1)
    try:
        first = worker_factory(smtp_url=f"smtp://127.0.0.1:{port}", NOTIFICATIONS_SEND_LEASE=2)
        pk = send_one().pk
        wait_until(lambda: OutboundEmail.objects.filter(pk=pk, status="sending").exists(), "the claim")
        first.kill()
    finally:
        listener.close()

    row = OutboundEmail.objects.get(pk=pk)
    worker_factory(smtp_url=smtp_server.url, NOTIFICATIONS_SEND_LEASE=2)
    wait_until(lambda: timezone.now() > row.lease_until, "the dead worker's lease to expire")
    tasks.outbox_sweep.delay()

    row = wait_status(pk, "sent")
    assert row.attempts == 2
    assert len(smtp_server.wait_for(1)) == 1
    assert smtp_server.handler.data_started == 1


def test_worker_killed_mid_stream_duplicates_at_most_one_outcome_group(worker_factory, smtp_server):
    """Outcomes are written in groups (one UPDATE for up to NOTIFICATIONS_OUTCOME_GROUP messages or
    0.2 s). A worker killed while streaming sends again only what its unwritten group held: at most
    10 messages. Everything else arrives once, and everything arrives."""

    count = 80
    smtp_server.handler.delay = 0.01
    first = worker_factory(smtp_url=smtp_server.url, NOTIFICATIONS_SEND_LEASE=2)
    batch = [(f"Stream {n}", "Body", "from@example.com", [f"s{n}@example.com"]) for n in range(count)]
    mail.send_mass_mail(batch)

    smtp_server.wait_for(30, timeout=60)
    first.kill()
    worker_factory(smtp_url=smtp_server.url, NOTIFICATIONS_SEND_LEASE=2)
    wait_until(
        lambda: not OutboundEmail.objects.filter(status="sending", lease_until__gt=timezone.now()).exists(),
        "the dead worker's leases to expire",
    )
    tasks.outbox_sweep.delay()

    wait_until(lambda: OutboundEmail.objects.filter(status="sent").count() == count, "every row sent", timeout=90)
    copies = {}
    for record in smtp_server.messages:
        copies[record["rcpt_tos"][0]] = copies.get(record["rcpt_tos"][0], 0) + 1
    assert sorted(copies) == sorted(f"s{n}@example.com" for n in range(count))
    duplicates = sum(n - 1 for n in copies.values())
    assert duplicates <= settings.NOTIFICATIONS_OUTCOME_GROUP == 10, f"{duplicates} messages went out twice"
    # All copies of one message carry its Message-ID, so a receiver can drop the second.
    twice = [address for address, n in copies.items() if n > 1]
    for address in twice:
        ids = {r["message"]["Message-ID"] for r in smtp_server.messages if r["rcpt_tos"] == [address]}
        assert len(ids) == 1
