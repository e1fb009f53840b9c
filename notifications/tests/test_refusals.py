"""What a server's refusal means for the row: a refused recipient among accepted ones, and errors
that no retry can fix."""

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from notifications.models import EmailEvent, OutboundEmail, Suppression
from notifications.outbox import delivery
from testing.fixtures import OUTBOX_MAILERS, RecordingHandler, SMTPServer
from testing.servers import free_port

pytestmark = pytest.mark.usefixtures("redis_client")


class RefusingHandler(RecordingHandler):
    """Refuses RCPT TO for the addresses in `refuse` with the given reply."""

    def __init__(self, refuse):
        super().__init__()
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing_smtp():
    from aiosmtpd.controller import Controller

    handler = RefusingHandler({"gone@example.com": "550 5.1.1 No such user"})
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield SMTPServer(handler, port, controller)
    controller.stop()


def smtp_mailers(port):
    transport = {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": "127.0.0.1", "port": port},
    }
    return override_settings(
        MAILERS={**OUTBOX_MAILERS, "transport-smtp": transport}, NOTIFICATIONS_TRANSPORTS=["transport-smtp"]
    )


@pytest.mark.django_db
def test_a_recipient_refused_with_550_is_recorded_and_suppressed(refusing_smtp):
    with smtp_mailers(refusing_smtp.port):
        mail.send_mail("Hello", "Body", "from@example.com", ["ann@example.com", "gone@example.com"])
        row = OutboundEmail.objects.get()
        assert delivery.deliver_one(row.pk) == "sent"

    row.refresh_from_db()
    assert [m["rcpt_tos"] for m in refusing_smtp.messages] == [["ann@example.com"]]
    assert row.status == "sent"
    assert row.refused_recipients == {"gone@example.com": "550 5.1.1 No such user"}
    assert "gone@example.com" in row.last_error and "550" in row.last_error
    event = EmailEvent.objects.get(recipient="gone@example.com")
    assert (event.email_id, event.event_type, event.bounce) == (row.pk, "bounced", "hard")
    suppression = Suppression.objects.get(address="gone@example.com")
    assert suppression.active and suppression.reason == "hard-bounce"


@pytest.mark.django_db
def test_an_address_smtp_cannot_encode_fails_at_once_not_after_eight_retries(smtp_server):
    """A non-ASCII local part cannot be written in an SMTP envelope without SMTPUTF8: the same
    error every time, so the first one is final."""
    with smtp_mailers(smtp_server.port):
        row = OutboundEmail.objects.create(
            from_email="from@example.com",
            recipients="jösé@example.com",
            subject="Hello",
            payload={
                "from_email": "from@example.com",
                "to": ["jösé@example.com"],
                "cc": [],
                "bcc": [],
                "reply_to": [],
                "subject": "Hello",
                "body": "Body",
                "alternatives": [],
                "headers": {},
                "attachments": [],
            },
            next_attempt_at=timezone.now(),
        )
        assert delivery.deliver_one(row.pk) == "failed"

    row.refresh_from_db()
    assert row.status == "failed" and row.attempts == 1
    assert "ValueError" in row.last_error or "Unicode" in row.last_error
    assert smtp_server.messages == []


def test_transient_and_permanent_errors():
    import smtplib

    assert not delivery.is_permanent(ConnectionRefusedError())
    assert not delivery.is_permanent(smtplib.SMTPServerDisconnected("gone"))
    assert not delivery.is_permanent(smtplib.SMTPDataError(451, b"try later"))
    assert delivery.is_permanent(smtplib.SMTPDataError(550, b"no such user"))
    assert delivery.is_permanent(ValueError("Invalid address"))
    assert delivery.is_permanent(UnicodeEncodeError("ascii", "ö", 0, 1, "ordinal not in range"))
