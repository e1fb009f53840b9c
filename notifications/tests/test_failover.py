"""Failover across providers (EMAIL_PROVIDER=smtp,mailgun and the like), and what each provider's
answer means: down, throttled, transient, or a permanent refusal that must not fail over."""

import smtplib

import pytest
from anymail.exceptions import AnymailAPIError
from botocore.exceptions import ClientError, EndpointConnectionError
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from notifications.models import OutboundEmail
from notifications.outbox import delivery, providers
from testing.fixtures import OUTBOX_MAILERS, free_port

from .helpers import wait_status
from .loopback import MAILGUN_DOMAIN, mailgun_api, mailgun_error, mailgun_form, mailgun_transport


def smtp_transport(url_or_port):
    port = url_or_port if isinstance(url_or_port, int) else int(url_or_port.rsplit(":", 1)[1])
    return {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": {"host": "127.0.0.1", "port": port}}


def chain(**transports):
    """Settings for an ordered provider chain: chain(smtp=..., mailgun=...)."""
    mailers = {**OUTBOX_MAILERS, **{f"transport-{name}": config for name, config in transports.items()}}
    return override_settings(MAILERS=mailers, NOTIFICATIONS_TRANSPORTS=[f"transport-{n}" for n in transports])


def send():
    mail.send_mail("Your code", "123456", "noreply@example.com", ["ann@example.com"])
    return OutboundEmail.objects.get()


def deliver(row):
    """One delivery attempt now (a retry's countdown is skipped: the test plays the clock)."""
    OutboundEmail.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    result = delivery.deliver_one(row.pk)
    row.refresh_from_db()
    return result


pytestmark = pytest.mark.usefixtures("redis_client")  # retries are published to the real broker


@pytest.mark.django_db
def test_smtp_down_fails_over_to_mailgun_at_once():
    closed = free_port()
    with mailgun_api() as mailgun, chain(smtp=smtp_transport(closed), mailgun=mailgun_transport(mailgun)):
        row = send()
        assert deliver(row) == "queued"
        assert (row.provider, row.provider_since_attempt, row.attempts) == ("transport-mailgun", 1, 1)
        assert "ConnectionRefusedError" in row.last_error

        assert deliver(row) == "sent"
        assert row.provider == "transport-mailgun" and row.provider_message_id.endswith(f"@{MAILGUN_DOMAIN}>")
        assert mailgun_form(mailgun.requests[0])["to"] == ["ann@example.com"]


@pytest.mark.django_db
def test_mailgun_503_fails_over_to_smtp(smtp_server):
    with mailgun_api() as mailgun, chain(mailgun=mailgun_transport(mailgun), smtp=smtp_transport(smtp_server.url)):
        mailgun.script = [mailgun_error(503, "Service Unavailable")]
        row = send()
        deliver(row)
        assert row.provider == "transport-smtp"
        assert deliver(row) == "sent"
        assert row.provider == "transport-smtp" and row.attempts == 2
        assert smtp_server.wait_for(1)[0]["rcpt_tos"] == ["ann@example.com"]


@pytest.mark.django_db
def test_a_permanent_rejection_of_the_recipient_does_not_fail_over(smtp_server):
    with mailgun_api() as mailgun, chain(mailgun=mailgun_transport(mailgun), smtp=smtp_transport(smtp_server.url)):
        mailgun.script = [mailgun_error(400, "'to' parameter is not a valid address. please check documentation")]
        row = send()
        assert deliver(row) == "failed"
        assert row.provider == "" and "400" in row.last_error
    assert smtp_server.messages == []


@pytest.mark.django_db
def test_smtp_550_does_not_fail_over(smtp_server):
    smtp_server.handler.responses = ["550 5.1.1 <ann@example.com>: no such user"]
    with mailgun_api() as mailgun, chain(smtp=smtp_transport(smtp_server.url), mailgun=mailgun_transport(mailgun)):
        row = send()
        assert deliver(row) == "failed"
        assert mailgun.requests == []


@pytest.mark.django_db
@override_settings(NOTIFICATIONS_FAILOVER_AFTER=2)
def test_transient_failures_fail_over_after_the_providers_retries(smtp_server):
    smtp_server.handler.responses = ["451 4.3.0 local problem, try later", "451 4.3.0 local problem, try later"]
    with mailgun_api() as mailgun, chain(smtp=smtp_transport(smtp_server.url), mailgun=mailgun_transport(mailgun)):
        row = send()
        assert deliver(row) == "queued"
        assert row.provider == "" and row.next_attempt_at > timezone.now()  # backing off on the same provider
        assert deliver(row) == "queued"
        assert (row.provider, row.provider_since_attempt) == ("transport-mailgun", 2)
        assert deliver(row) == "sent"
        assert row.provider == "transport-mailgun" and row.attempts == 3
        assert len(mailgun.requests) == 1


@pytest.mark.django_db
@override_settings(NOTIFICATIONS_MAX_ATTEMPTS=2)
def test_the_last_provider_gets_its_full_retries_then_the_row_fails():
    closed = free_port()
    with mailgun_api() as mailgun, chain(smtp=smtp_transport(closed), mailgun=mailgun_transport(mailgun)):
        mailgun.script = [mailgun_error(503, "down"), mailgun_error(503, "down")]
        row = send()
        deliver(row)  # SMTP refused: over to Mailgun
        assert deliver(row) == "queued"  # Mailgun 503, first of its two tries
        assert deliver(row) == "failed"
        assert row.provider == "transport-mailgun" and "gave up after 3 attempts" in row.last_error


@pytest.mark.django_db
@override_settings(NOTIFICATIONS_MAX_RATE=100, NOTIFICATIONS_RATE_BURST=10)
def test_mailgun_429_is_retried_on_the_same_provider_and_slows_the_bucket(redis_client, smtp_server):
    with mailgun_api() as mailgun, chain(mailgun=mailgun_transport(mailgun), smtp=smtp_transport(smtp_server.url)):
        mailgun.script = [mailgun_error(429, "Too many requests")]
        row = send()
        assert deliver(row) == "queued"
        assert row.provider == "" and "429" in row.last_error  # no failover for "too fast"
        state = redis_client.hgetall("mailsite:notifications:rate:transport-mailgun")
        assert float(state[b"tokens"]) < 1 and float(state[b"slow_until"]) > 0
        assert deliver(row) == "sent"
        assert row.provider == "transport-mailgun"


# ------------------------------------------------------------------------------------------------
# A real worker whose settings name two providers
# ------------------------------------------------------------------------------------------------
def test_worker_with_ses_like_chain_smtp_then_mailgun_fails_over(worker_factory):
    closed = free_port()
    with mailgun_api() as mailgun:
        worker_factory(
            EMAIL_PROVIDER="smtp,mailgun",
            EMAIL_URL=f"smtp://127.0.0.1:{closed}",
            MAILGUN_API_KEY="key-test",
            MAILGUN_SENDER_DOMAIN=MAILGUN_DOMAIN,
            MAILGUN_API_URL=f"{mailgun.url}/v3",
        )
        row = wait_status(send().pk, "sent", "failed")
        assert row.status == "sent" and row.provider == "transport-mailgun", row.last_error
        assert mailgun_form(mailgun.requests[0])["subject"] == ["Your code"]


# ------------------------------------------------------------------------------------------------
# Reading providers' errors (as Anymail raises them)
# ------------------------------------------------------------------------------------------------
def ses_error(code, status, message="x"):
    """An Anymail error raised from botocore's ClientError, as Anymail's SES backend raises it."""
    cause = ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, "SendEmail"
    )
    try:
        raise AnymailAPIError(str(cause), response=cause.response) from cause
    except AnymailAPIError as error:
        return error


def test_ses_errors_are_read_by_their_code():
    throttled = ses_error("TooManyRequestsException", 429, "Maximum sending rate exceeded.")
    assert providers.is_throttled(throttled) and not delivery.is_permanent(throttled)
    v1_throttled = ses_error("Throttling", 400, "Maximum sending rate exceeded.")
    assert providers.is_throttled(v1_throttled) and not delivery.is_permanent(v1_throttled)
    paused = ses_error("SendingPausedException", 400)
    assert providers.is_down(paused) and not delivery.is_permanent(paused)
    assert providers.is_down(ses_error("InternalFailure", 500))
    rejected = ses_error("MessageRejected", 400, "Email address is not verified.")
    assert delivery.is_permanent(rejected) and not providers.is_down(rejected)


def test_unreachable_providers_are_down():
    try:
        raise AnymailAPIError("boom") from EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com")
    except AnymailAPIError as error:
        assert providers.is_down(error)
    assert providers.is_down(ConnectionRefusedError(111, "Connection refused"))
    assert providers.is_down(smtplib.SMTPResponseException(421, b"4.3.2 Service not available, closing channel"))
    too_fast = smtplib.SMTPResponseException(421, b"4.7.0 Too many messages, slow down")
    assert providers.is_throttled(too_fast) and not providers.is_down(too_fast)
    assert providers.is_throttled(smtplib.SMTPDataError(451, b"4.7.1 Throttling failure: rate exceeded"))
    assert not providers.is_down(smtplib.SMTPDataError(451, b"4.3.0 local error"))
