"""Delivering outbox rows through the transport mailer, exactly once per row where possible.

A row is claimed with one conditional UPDATE (queued -> sending, with a lease), so two workers
given the same id never both send it, and a redelivered task finds the row already sent. If a
worker dies mid-send the lease expires and the sweeper hands the row to another worker; that is
the one case where a message can go out twice (the server accepted it, the worker died before
recording so).
"""

import json
import logging
import random
import smtplib
from datetime import timedelta

from anymail.exceptions import AnymailAPIError, AnymailInvalidAddress, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import mailers
from django.db.models import F, Q
from django.utils import timezone

from . import crypto
from .message import from_payload, redact
from .models import OutboundEmail

logger = logging.getLogger(__name__)
Status = OutboundEmail.Status

# Open transport connections of this worker process, reused across tasks (one per alias).
_connections = {}


class Permanent(Exception):
    """The provider refused this message for good: do not retry."""


def transport_connection(alias):
    connection = _connections.get(alias)
    if connection is None:
        connection = mailers[alias]
        connection.open()
        _connections[alias] = connection
    return connection


def transport_reset(alias=None):
    for key in [alias] if alias else list(_connections):
        connection = _connections.pop(key, None)
        if connection is not None:
            try:
                connection.close()
            except Exception as error:  # a broken connection may fail to close; it is gone anyway
                logger.debug("outbox: closing %s failed: %s", key, error)


def is_permanent(error):
    """True for a refusal that retrying cannot fix (SMTP 5xx, an Anymail rejection)."""
    if isinstance(error, (AnymailRecipientsRefused, AnymailInvalidAddress, Permanent)):
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in error.recipients.values())
    if isinstance(error, (smtplib.SMTPDataError, smtplib.SMTPSenderRefused)):
        return error.smtp_code >= 500
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500 and error.smtp_code not in (421,)
    if isinstance(error, AnymailAPIError):
        status = getattr(error, "status_code", None)
        return status is not None and 400 <= status < 500 and status not in (408, 429)
    return False


def retry_delay(attempts):
    """Exponential back-off with jitter: base * 2^(n-1), capped, then spread over its upper half."""
    ceiling = min(settings.NOTIFICATIONS_RETRY_MAX, settings.NOTIFICATIONS_RETRY_BASE * 2 ** max(attempts - 1, 0))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _claim(pk, now):
    lease = now + timedelta(seconds=settings.NOTIFICATIONS_SEND_LEASE)
    return OutboundEmail.objects.filter(
        Q(status=Status.QUEUED, next_attempt_at__lte=now) | Q(status=Status.SENDING, lease_until__lte=now),
        pk=pk,
    ).update(status=Status.SENDING, lease_until=lease, attempts=F("attempts") + 1)


def _payload(row):
    if row.payload_encrypted:
        return json.loads(crypto.decrypt(row.payload_encrypted))
    return row.payload


def _send(alias, message):
    """Send on this worker's open connection; a stale connection gets one fresh retry."""
    try:
        transport_connection(alias).send_messages([message])
    except (smtplib.SMTPServerDisconnected, ConnectionResetError, BrokenPipeError):
        transport_reset(alias)
        transport_connection(alias).send_messages([message])


def deliver_one(pk, *, alias="transport"):
    """Deliver row `pk` if it is due. Returns its status afterwards, or None if not ours to send."""
    now = timezone.now()
    if not _claim(pk, now):
        return None
    row = OutboundEmail.objects.get(pk=pk)
    try:
        payload = _payload(row)
        message = from_payload(payload)
        _send(alias, message)
    except Exception as error:
        transport_reset(alias)
        return _failed(row, error)
    return _sent(row, payload, message, alias)


def _sent(row, payload, message, alias):
    status = getattr(message, "anymail_status", None)
    update = {
        "status": Status.SENT,
        "sent_at": timezone.now(),
        "lease_until": None,
        "last_error": "",
        "provider": alias,
        "provider_message_id": (getattr(status, "message_id", None) or "")[:255] if status else "",
    }
    if row.sensitive and not settings.NOTIFICATIONS_KEEP_SENSITIVE:
        secrets = payload.pop("redact", [])
        update.update(payload=redact(payload, secrets), payload_encrypted="", redacted=True)
    OutboundEmail.objects.filter(pk=row.pk, status=Status.SENDING).update(**update)
    return Status.SENT


def _failed(row, error):
    detail = f"{type(error).__name__}: {error}"[:2000]
    if is_permanent(error) or row.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
        if not is_permanent(error):
            detail = f"gave up after {row.attempts} attempts: {detail}"
        logger.warning("outbox: email %s failed for good: %s", row.pk, detail)
        OutboundEmail.objects.filter(pk=row.pk, status=Status.SENDING).update(
            status=Status.FAILED, last_error=detail, lease_until=None
        )
        return Status.FAILED
    delay = retry_delay(row.attempts)
    when = timezone.now() + timedelta(seconds=delay)
    logger.info("outbox: email %s attempt %d failed (%s); retrying in %.1fs", row.pk, row.attempts, detail, delay)
    OutboundEmail.objects.filter(pk=row.pk, status=Status.SENDING).update(
        status=Status.QUEUED, last_error=detail, lease_until=None, next_attempt_at=when, enqueued_at=when
    )
    _schedule_retry(row, delay)
    return Status.QUEUED


def _schedule_retry(row, delay):
    from .tasks import outbox_deliver

    try:
        outbox_deliver.apply_async(args=[[row.pk]], queue=row.queue, countdown=delay)
    except Exception as error:  # the sweeper will pick the row up when it is due
        logger.warning("outbox: could not schedule retry of email %s: %s", row.pk, error)


def deliver_many(pks, *, alias="transport"):
    return {pk: deliver_one(pk, alias=alias) for pk in pks}
