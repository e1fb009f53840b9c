"""Talking to the provider: one open connection per worker thread (or greenlet), the message's
bytes built once, the recipients a server refused, and which errors a retry cannot fix.

Connections live in a threading.local: under `-P threads` each thread has its own, and under
`-P gevent` (which patches threading.local) each greenlet has its own, so two sends never
interleave on one socket.
"""

import base64
import email.contentmanager
import email.policy
import email.utils
import logging
import random
import re
import smtplib
import sys
import threading
from datetime import UTC, datetime

from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused
from django.conf import settings as django_settings
from django.core.mail import EmailMessage, mailers
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.utils import DNS_NAME
from django.db import DatabaseError
from django.utils import timezone

from ..errors import NotificationsError
from . import crypto, providers
from .headers import URL_LIST_HEADERS, fold_between_items, outbox_policy
from .message import OutboxMessageMixin

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
    """The bytes on the wire: CRLF line ends, list headers folded between items (headers.py).

    Django builds a tree of header objects that parse every value and fold it again (most of a
    worker's time per message). The common message (text with text alternatives, plain ASCII
    addresses) is written directly instead, byte for byte what Django's path writes; anything
    else takes Django's path."""
    policy = outbox_policy(email.policy.SMTP)
    data = _mime_direct(message, policy)
    return data if data is not None else message.message(policy=policy).as_bytes()


_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDR_SPEC = rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
# Addresses Python would write back unchanged: a bare addr-spec, or a display name of plain words.
_ADDRESS = re.compile(rf"(?:{_ATOM}(?: {_ATOM})* <{_ADDR_SPEC}>|{_ADDR_SPEC})")
_MESSAGE_ID = re.compile(rf"<{_ADDR_SPEC}>")
_PLAIN_TEXT = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")
# Headers Python parses as structures (addresses, dates, MIME): as extra headers, Django's path.
_STRUCTURED = set(email.policy.default.header_factory.registry) - {"subject", "message-id"}
_NEWLINES = re.compile(r"\r\n|\r|\n")
_BOUNDARY_DIGITS = len(repr(sys.maxsize - 1))


def _mime_direct(message, policy):
    """The message's bytes as Django's path writes them, or None when it is not the common case."""
    kind = type(message).message
    if not isinstance(message, EmailMessage) or kind not in (EmailMessage.message, OutboxMessageMixin.message):
        return None
    if message.attachments or (message.encoding or django_settings.DEFAULT_CHARSET).lower() != "utf-8":
        return None
    alternatives = [(str(content), str(mimetype)) for content, mimetype in getattr(message, "alternatives", ())]
    if alternatives and (not message.body or any(not m.startswith("text/") for _c, m in alternatives)):
        return None
    if not re.fullmatch(r"[a-z0-9.+-]+", message.content_subtype):
        return None
    headers = _direct_headers(message, policy)
    if headers is None:
        return None
    body = _text_part(str(message.body), message.content_subtype, policy)
    if not alternatives:
        return b"".join([body[0], b"MIME-Version: 1.0\r\n", *headers, b"\r\n", body[1]])
    parts = [b"".join([body[0], b"\r\n", body[1]])]
    for content, mimetype in alternatives:
        part = _text_part(content, mimetype.partition("/")[2], policy)
        parts.append(b"".join([part[0], b"MIME-Version: 1.0\r\n\r\n", part[1]]))
    boundary = _boundary(parts)
    top = f'MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n'
    separator = f"\r\n--{boundary}\r\n".encode()
    return b"".join(
        [
            top.encode(),
            *headers,
            f"\r\n--{boundary}\r\n".encode(),
            separator.join(parts),
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )


def _boundary(parts):
    while True:
        boundary = "=" * 15 + f"{random.randrange(sys.maxsize):0{_BOUNDARY_DIGITS}d}" + "=="
        if not any(boundary.encode() in part for part in parts):
            return boundary


def _text_part(text, subtype, policy):
    """(the part's content headers, its encoded body) as Python's set_content writes them."""
    cte, payload = email.contentmanager._encode_text(text, "utf-8", None, policy)
    lines = _NEWLINES.split(payload)
    written = "\r\n".join(lines[:-1]) + ("\r\n" if len(lines) > 1 else "") + lines[-1]
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}\r\n'
    return head.encode(), written.encode("ascii", "surrogateescape")


def _direct_headers(message, policy):
    extra = {str(name): value for name, value in message.extra_headers.items()}
    if any(name.lower() in _STRUCTURED for name in extra):
        return None
    addresses = [("From", [str(message.from_email)])]
    addresses += [
        (name, [str(v) for v in values])
        for name, values in (("To", message.to), ("Cc", message.cc), ("Reply-To", message.reply_to))
        if values
    ]
    if not all(_ADDRESS.fullmatch(value) for _name, values in addresses for value in values):
        return None
    headers = [_header("Subject", str(message.subject), policy)]
    headers += [_header(name, ", ".join(values), policy) for name, values in addresses]
    tz = timezone.get_current_timezone() if django_settings.EMAIL_USE_LOCALTIME else UTC
    headers.append(f"Date: {email.utils.format_datetime(datetime.now(tz))}\r\n".encode())
    names = {name.lower() for name in extra}
    if "message-id" not in names:
        headers.append(f"Message-ID: {email.utils.make_msgid(domain=DNS_NAME)}\r\n".encode())
    for name, value in extra.items():
        value = str(value)
        if name.lower() == "message-id" and not _MESSAGE_ID.fullmatch(value):
            return None
        headers.append(_header(name, value, policy))
    return headers


def _header(name, value, policy):
    """`name: value` folded as the policy folds it; a short plain line needs no parsing."""
    if "=?" not in value and _PLAIN_TEXT.fullmatch(value):
        if name.lower() in URL_LIST_HEADERS:
            return fold_between_items(name, value, max_line_length=policy.max_line_length).encode()
        if len(name) + 2 + len(value) <= 78:
            return f"{name}: {value}\r\n".encode()
    return policy.fold_binary(*policy.header_store_parse(name, value))


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
    sender = _envelope(connection, message.from_email)
    recipients = [_envelope(connection, address) for address in message.recipients()]
    try:
        refused = connection.connection.sendmail(sender, recipients, mime)
    except STALE:
        transport_reset(alias)
        refused = transport_connection(alias).connection.sendmail(sender, recipients, mime)
    return {address: f"{code} {_text(reply)}" for address, (code, reply) in refused.items()}


def _envelope(connection, address):
    """The addr-spec for MAIL FROM / RCPT TO; a plain ASCII address needs no header parser."""
    address = str(address)
    if _ADDRESS.fullmatch(address):
        return address.rpartition("<")[2].rstrip(">")
    return connection.prep_address(address)


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
