"""The whole path with real parts: outbox row -> Redis broker -> celery worker process -> SMTP."""

from django.core import mail

from notifications.models import OutboundEmail

from .helpers import wait_status


def test_worker_delivers_send_mail_to_smtp(worker_factory, smtp_server):
    worker = worker_factory(smtp_url=smtp_server.url)
    mail.send_mail("Hello", "Body text", "from@example.com", ["to@example.com"])
    row = OutboundEmail.objects.get()
    delivered = wait_status(row.pk, "sent")
    received = smtp_server.wait_for(1)
    assert received[0]["rcpt_tos"] == ["to@example.com"]
    assert received[0]["message"]["Subject"] == "Hello"
    assert delivered.provider == "transport-smtp" and delivered.attempts == 1, worker.log()
