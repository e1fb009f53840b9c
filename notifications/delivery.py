"""Delivering outbox rows through the transport mailer, exactly once per row where possible.

A row is claimed with one conditional UPDATE (queued -> sending, with a lease), so two workers
given the same id never both send it, and a redelivered task finds the row already sent. If a
worker dies mid-send the lease expires and the sweeper hands the row to another worker; that is
the one case where a message can go out twice (the server accepted it, the worker died before
recording so).

On the way out a row passes three gates, each in its own module: suppressed recipients are
dropped (suppression.py), the provider-wide send rate is respected (throttle.py), and a provider
that is down hands over to the next one (failover.py). Tracking events that arrived before the
provider's message id was recorded are attached once it is (tracking.py).
"""

import email.utils
import json
import logging
import random
import smtplib
import time
from datetime import timedelta

from anymail.exceptions import AnymailAPIError, AnymailInvalidAddress, AnymailRecipientsRefused
from django.core.mail import mailers
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import crypto, failover, metrics, providers, throttle
from .conf import settings
from .message import from_payload, redact
from .models import OutboundEmail
from .suppression import message_without_suppressed, suppression_active
from .tracking import tracking_attach

logger = logging.getLogger(__name__)
Status = OutboundEmail.Status
# deliver_one's answer when the send rate put the row back in the queue (not an attempt).
DEFERRED = "deferred"

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
    if providers.is_throttled(error):
        return False
    if providers.ses_is_permanent(error):
        return True
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


def _claim(pks, now):
    """Claim every due row of `pks` at once and read them back: three statements a chunk.

    Rows another worker holds are skipped, not waited for (SKIP LOCKED), so overlapping chunks
    never deadlock. The lease value doubles as this claim's fencing token: the read returns only
    rows whose lease is the one just written.
    """
    lease = now + timedelta(seconds=settings.NOTIFICATIONS_SEND_LEASE, microseconds=random.randrange(1_000_000))
    due = Q(status=Status.QUEUED, next_attempt_at__lte=now) | Q(status=Status.SENDING, lease_until__lte=now)
    with transaction.atomic():
        ids = list(
            OutboundEmail.objects.filter(due, pk__in=pks)
            .order_by("pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        if not ids:
            return [], lease
        OutboundEmail.objects.filter(pk__in=ids).update(
            status=Status.SENDING, lease_until=lease, attempts=F("attempts") + 1
        )
    held = {row.pk: row for row in OutboundEmail.objects.filter(pk__in=ids, status=Status.SENDING, lease_until=lease)}
    return [held[pk] for pk in pks if pk in held], lease


def _reschedule_skipped(pks, now):
    """Rows that were due but locked by someone else at claim time (an UPDATE in flight, not a
    claim: a claimed row is no longer due) get another try shortly, instead of waiting for the
    sweeper."""
    skipped = list(
        OutboundEmail.objects.filter(pk__in=pks, status=Status.QUEUED, next_attempt_at__lte=now).only("pk", "category")
    )
    grouped = {}
    for row in skipped:
        grouped.setdefault(row.queue, []).append(row)
    for rows in grouped.values():
        logger.info("outbox: %d due email(s) were locked at claim time; trying again in 1s", len(rows))
        _schedule_retry(rows[0], 1, ids=[row.pk for row in rows])


def _lease_renew(rows, lease):
    """Keep the claim on rows still waiting in this chunk while a slow server takes its time."""
    renewed = timezone.now() + timedelta(seconds=settings.NOTIFICATIONS_SEND_LEASE, microseconds=lease.microsecond)
    OutboundEmail.objects.filter(pk__in=[row.pk for row in rows], status=Status.SENDING, lease_until=lease).update(
        lease_until=renewed
    )
    return renewed


def _release(rows, when):
    """Rows claimed but not tried (the send rate ran out): back to the queue, not an attempt."""
    OutboundEmail.objects.filter(pk__in=[row.pk for row in rows], status=Status.SENDING).update(
        status=Status.QUEUED, attempts=F("attempts") - 1, lease_until=None, next_attempt_at=when, enqueued_at=when
    )


def _payload(row):
    if row.payload_encrypted:
        try:
            return json.loads(crypto.decrypt(row.payload_encrypted))
        except ValueError as error:  # no configured key opens it: retrying cannot help
            raise Permanent(str(error)) from None
    return row.payload


def _send(alias, message):
    """Send on this worker's open connection; a stale connection gets one fresh retry."""
    try:
        transport_connection(alias).send_messages([message])
    except (smtplib.SMTPServerDisconnected, ConnectionResetError, BrokenPipeError):
        transport_reset(alias)
        transport_connection(alias).send_messages([message])


def deliver_one(pk, *, alias=None):
    """Deliver row `pk` if it is due. Returns its status afterwards, None if not ours to send, or
    DEFERRED when the send rate put it back in the queue. `alias` sends through that MAILERS alias
    only; by default the failover chain is used."""
    return deliver_many([pk], alias=alias).get(pk)


def deliver_many(pks, *, alias=None):
    """Deliver the due rows among `pks` over this worker's open connection, in order: one claim,
    one read and one suppression lookup for the chunk, then one status update per message (so a
    worker that dies can duplicate at most the message it was sending). Returns {pk: status}."""
    now = timezone.now()
    rows, lease = _claim(list(pks), now)
    if len(rows) < len(pks):
        _reschedule_skipped(set(pks) - {row.pk for row in rows}, now)
    if not rows:
        return {}
    blocked = suppression_active([address for _name, address in email.utils.getaddresses([r.recipients for r in rows])])
    renew_at = time.monotonic() + settings.NOTIFICATIONS_SEND_LEASE / 3
    results = {}
    for index, row in enumerate(rows):
        if time.monotonic() > renew_at:
            lease = _lease_renew(rows[index:], lease)
            renew_at = time.monotonic() + settings.NOTIFICATIONS_SEND_LEASE / 3
        results[row.pk] = _deliver_row(row, alias, blocked, rest=rows[index + 1 :])
        if results[row.pk] == DEFERRED:
            break  # the rest of the chunk went back to the queue with it
    return results


def _deliver_row(row, alias, blocked, rest):
    alias = alias or failover.transport_for(row)
    try:
        payload = _payload(row)
        message, suppressed = message_without_suppressed(from_payload(payload), blocked=blocked)
        if message is None:
            return _suppressed(row, suppressed)
        message.outbox_id = row.pk  # for a transport that names the row (the dev console's mailbox link)
        wait = throttle.token_wait(alias, urgent=row.category == OutboundEmail.Category.URGENT)
        if wait:
            return _deferred(row, wait, rest)
        _send(alias, message)
    except Exception as error:
        transport_reset(alias)
        return _failed(row, error, alias)
    return _sent(row, payload, message, alias, note=_suppressed_note(suppressed))


def _sent(row, payload, message, alias, note=""):
    status = getattr(message, "anymail_status", None)
    message_id = (getattr(status, "message_id", None) or "")[:255] if status else ""
    update = {
        "status": Status.SENT,
        "sent_at": timezone.now(),
        "lease_until": None,
        "last_error": note,
        "provider": alias,
        "provider_message_id": message_id,
    }
    if row.sensitive and not settings.NOTIFICATIONS_KEEP_SENSITIVE:
        secrets = payload.pop("redact", [])
        update.update(payload=redact(payload, secrets), payload_encrypted="", redacted=True)
    OutboundEmail.objects.filter(pk=row.pk, status=Status.SENDING).update(**update)
    tracking_attach(email_id=row.pk, message_id=message_id)
    metrics.delivery_sent(row, alias, message_id)
    return Status.SENT


def _suppressed_note(suppressed):
    return "; ".join(f"not sent to {address}: suppressed ({row.reason})" for address, row in suppressed.items())


def _suppressed(row, suppressed):
    """Every recipient is suppressed: the provider never sees the message."""
    logger.info("outbox: email %s not sent, recipients suppressed", row.pk)
    metrics.delivery_suppressed(row, failover.transport_for(row))
    OutboundEmail.objects.filter(pk=row.pk, status=Status.SENDING).update(
        status=Status.SUPPRESSED,
        last_error=_suppressed_note(suppressed)[:2000],
        lease_until=None,
        attempts=F("attempts") - 1,
    )
    return Status.SUPPRESSED


def _deferred(row, wait, rest=()):
    """Over the provider-wide send rate: this row and the rest of its chunk go back to the queue
    for `wait` seconds, in one task, without counting an attempt."""
    when = timezone.now() + timedelta(seconds=wait)
    _release([row, *rest], when)
    _schedule_retry(row, wait, ids=[row.pk, *(other.pk for other in rest)])
    return DEFERRED


def _failover(row, alias, detail):
    """Hand the row to the next provider, to be tried at once."""
    now = timezone.now()
    logger.warning("outbox: email %s moves from %s to %s: %s", row.pk, row.provider or "first provider", alias, detail)
    OutboundEmail.objects.filter(pk=row.pk, status=Status.SENDING).update(
        status=Status.QUEUED,
        provider=alias,
        provider_since_attempt=row.attempts,
        last_error=detail,
        lease_until=None,
        next_attempt_at=now,
        enqueued_at=now,
    )
    _schedule_retry(row, 0)
    metrics.delivery_failover(row, row.provider or failover.transport_chain()[0], alias)
    return Status.QUEUED


def _failed(row, error, alias="transport"):
    detail = f"{type(error).__name__}: {error}"[:2000]
    if providers.is_throttled(error):
        throttle.bucket_slow(alias)
    if not is_permanent(error):
        next_alias = failover.transport_next(row, alias, error)
        if next_alias:
            return _failover(row, next_alias, detail)
    if is_permanent(error) or failover.exhausted(row):
        if not is_permanent(error):
            detail = f"gave up after {row.attempts} attempts: {detail}"
        logger.warning("outbox: email %s failed for good: %s", row.pk, detail)
        OutboundEmail.objects.filter(pk=row.pk, status=Status.SENDING).update(
            status=Status.FAILED, last_error=detail, lease_until=None
        )
        metrics.delivery_failed(row, alias, final=True)
        return Status.FAILED
    delay = retry_delay(row.attempts)
    when = timezone.now() + timedelta(seconds=delay)
    logger.info("outbox: email %s attempt %d failed (%s); retrying in %.1fs", row.pk, row.attempts, detail, delay)
    OutboundEmail.objects.filter(pk=row.pk, status=Status.SENDING).update(
        status=Status.QUEUED, last_error=detail, lease_until=None, next_attempt_at=when, enqueued_at=when
    )
    _schedule_retry(row, delay)
    metrics.delivery_failed(row, alias, final=False)
    return Status.QUEUED


def _schedule_retry(row, delay, ids=None):
    from .tasks import outbox_deliver

    try:
        outbox_deliver.apply_async(args=[ids or [row.pk]], queue=row.queue, countdown=delay)
    except Exception as error:  # the sweeper will pick the row up when it is due
        logger.warning("outbox: could not schedule retry of email %s: %s", row.pk, error)
