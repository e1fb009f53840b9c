"""The whole path with real parts: outbox row -> Redis broker -> celery worker process -> SMTP."""

import time

from django.core import mail

from notifications.models import OutboundEmail


def wait_status(pk, *statuses, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = OutboundEmail.objects.get(pk=pk)
        if row.status in statuses:
            return row
        time.sleep(0.1)
    raise AssertionError(f"email {pk} stayed {row.status!r} ({row.last_error})")


def test_worker_delivers_send_mail_to_smtp(worker_factory, smtp_server):
    worker = worker_factory(smtp_url=smtp_server.url)
    mail.send_mail("Hello", "Body text", "from@example.com", ["to@example.com"])
    row = OutboundEmail.objects.get()
    delivered = wait_status(row.pk, "sent")
    received = smtp_server.wait_for(1)
    assert received[0]["rcpt_tos"] == ["to@example.com"]
    assert received[0]["message"]["Subject"] == "Hello"
    assert delivered.provider == "transport" and delivered.attempts == 1, worker.log()
