"""Talking to the provider: one open connection per worker thread (or greenlet), the message's
bytes built once, the recipients a server refused, and which errors a retry cannot fix.

Connections live in a threading.local: under `-P threads` each thread has its own, and under
`-P gevent` (which patches threading.local) each greenlet has its own, so two sends never
interleave on one socket.
"""

import base64
import email.policy
import logging
import smtplib
import threading

from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused
from django.core.mail import mailers
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import DatabaseError

from ..errors import NotificationsError
from . import crypto, providers
from .headers import outbox_policy

logger = logging.getLogger(__name__)
_local = threading.local()
# A stale connection (the server hung up while we were idle) gets one fresh retry: nothing was sent.
STALE = (smtplib.SMTPServerDisconnected, ConnectionResetError, BrokenPipeError)


class Permanent(NotificationsError):
    """The provider refused this message for good: do not retry."""


def _connections():
    if not hasattr(_local, "connections"):
        _local.connections = {}
    return _local.connections


def transport_connection(alias):
    connections = _connections()
    connection = connections.get(alias)
    if connection is None:
        connection = mailers[alias]
        connection.open()
        connections[alias] = connection
    return connection


def transport_reset(alias=None):
    """Close this thread's connection to `alias` (or all of them)."""
    connections = _connections()
    for key in [alias] if alias else list(connections):
        connection = connections.pop(key, None)
        if connection is not None:
            try:
                connection.close()
            except Exception as error:  # a broken connection may fail to close; it is gone anyway
                logger.debug("outbox: closing %s failed: %s", key, error)


def mime_build(message):
    """The bytes on the wire: CRLF line ends, list headers folded between items (headers.py)."""
    return message.message(policy=outbox_policy(email.policy.SMTP)).as_bytes()


def mime_store(data, *, sensitive):
    """The bytes as kept on the row for a retry: encrypted when the message carries a secret."""
    return crypto.encrypt(data) if sensitive else "b64:" + base64.b64encode(data).decode()


def mime_load(stored):
    if not stored:
        return None
    if stored.startswith("b64:"):
        return base64.b64decode(stored[4:])
    try:
        return crypto.decrypt(stored)
    except ValueError:  # no configured key opens it: build the bytes again
        return None


def transport_send(alias, message, mime=None):
    """Send `message` on this thread's connection. Returns (bytes sent or None, refused) where
    refused maps each recipient the server refused while accepting the others to its reply."""
    if isinstance(transport_connection(alias), SMTPBackend):
        mime = mime or mime_build(message)
        return mime, _smtp_send(alias, message, mime)
    try:
        transport_connection(alias).send_messages([message])
    except STALE:
        transport_reset(alias)
        transport_connection(alias).send_messages([message])
    return None, _anymail_refused(message)


def _smtp_send(alias, message, mime):
    connection = transport_connection(alias)
    sender = connection.prep_address(message.from_email)
    recipients = [connection.prep_address(address) for address in message.recipients()]
    try:
        refused = connection.connection.sendmail(sender, recipients, mime)
    except STALE:
        transport_reset(alias)
        refused = transport_connection(alias).connection.sendmail(sender, recipients, mime)
    return {address: f"{code} {_text(reply)}" for address, (code, reply) in refused.items()}


def _text(reply):
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _anymail_refused(message):
    status = getattr(message, "anymail_status", None)
    recipients = getattr(status, "recipients", None) or {}
    return {
        address: f"{info.status}"
        for address, info in recipients.items()
        if getattr(info, "status", None) in ("rejected", "invalid")
    }


def is_permanent(error):
    """True unless a retry could succeed: a busy or unreachable server (SMTP 4xx, a network
    error, HTTP 5xx/408/429, a throttle) is worth another try; a refusal, or a message that cannot
    even be encoded (a non-ASCII local part), fails the same way every time."""
    if providers.is_throttled(error) or providers.is_down(error):
        return False
    if providers.ses_is_permanent(error):
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500 and error.smtp_code != 421
    if isinstance(error, (AnymailRecipientsRefused, Permanent)):
        return True
    if isinstance(error, AnymailAPIError):
        status = getattr(error, "status_code", None)
        return status is not None and 400 <= status < 500 and status not in (408, 429)
    if isinstance(error, AnymailError):
        return True  # unsupported feature, invalid address, unserialisable payload
    if isinstance(error, (OSError, DatabaseError, TimeoutError)):
        return False  # network, socket and database trouble passes
    if providers.ses_error(error)[0] is not None:
        return False  # an AWS error not known to be permanent
    return True
