"""The outbox's message class, and turning any EmailMessage into a storable payload and back.

OutboxMessage declares the outbox's own options as AnymailMessage declares Anymail's:
  category   "urgent" (default) or "bulk"
  sensitive  True when the content carries a secret (code, link): encrypted at rest
  redact     strings replaced by "[redacted]" once delivered (sensitive mail only)
  template   the template name it was rendered from, for the admin
  unsolicited  True when someone who has not proved they own the recipient's mailbox caused it
             (confirmation, reset, code, sign-up notices): counted against the per-mailbox ceiling
  idempotency_key  a caller's key: the same key again within NOTIFICATIONS_IDEMPOTENCY_WINDOW
             sends nothing more (outbox/idempotency.py; a plain EmailMessage may instead carry an
             X-Idempotency-Key header, which is taken off before the message is stored)
They are kept as the attributes outbox_category, outbox_sensitive, outbox_redact,
outbox_template, outbox_unsolicited and outbox_idempotency_key, which a plain EmailMessage may
also carry.

Anymail's attributes (tags, metadata, merge_*, template_id, track_*, esp_extra, ...) are kept in
the payload and reach the provider; one left UNSET stays UNSET. send_at is the outbox's to keep:
the row waits in the queue until then, whatever the provider can do.
"""

import base64
import datetime
import email.policy
import email.utils
import json
from email import message_from_bytes

from anymail.message import AnymailMessage
from anymail.utils import UNSET
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _

from ..errors import NotificationsError
from .headers import outbox_policy

ANYMAIL_ATTRS = (
    "tags",
    "metadata",
    "track_clicks",
    "track_opens",
    "envelope_sender",
    "esp_extra",
    "merge_data",
    "merge_global_data",
    "merge_headers",
    "merge_metadata",
    "template_id",
)
REDACTED = "[redacted]"


class OutboxMessageMixin(EmailMessage):
    """The outbox's per-message options, declared on the class (see the module's docstring); its
    MIME folds list headers between their items, whichever transport asks for it."""

    def __init__(self, *args, **kwargs):
        self.outbox_category = kwargs.pop("category", "urgent")
        self.outbox_sensitive = bool(kwargs.pop("sensitive", False))
        self.outbox_redact = [str(secret) for secret in kwargs.pop("redact", ())]
        self.outbox_template = kwargs.pop("template", "")
        self.outbox_unsolicited = bool(kwargs.pop("unsolicited", False))
        self.outbox_idempotency_key = kwargs.pop("idempotency_key", None)
        super().__init__(*args, **kwargs)

    def message(self, *, policy=email.policy.default):
        return super().message(policy=outbox_policy(policy))


class OutboxMessage(OutboxMessageMixin, AnymailMessage):
    """An AnymailMessage with the outbox's options: what email_send builds and deliveries send."""


class InvalidMessage(NotificationsError, ValueError):
    """A message the outbox refuses: nothing is stored and nothing is enqueued."""


def _check_line(value, what):
    if "\n" in str(value) or "\r" in str(value):
        raise InvalidMessage(_("%(what)s must not contain a line break.") % {"what": what})


def _check_address(value, what):
    _check_line(value, what)
    _name, addr = email.utils.parseaddr(str(value))
    try:
        validate_email(addr)
    except ValidationError:
        raise InvalidMessage(
            _("%(what)s %(value)r is not a valid email address.") % {"what": what, "value": value}
        ) from None


def validate(message):
    if not message.recipients():
        raise InvalidMessage(_("The message has no recipients."))
    _check_address(message.from_email, "From")
    for field in ("to", "cc", "bcc", "reply_to"):
        for addr in getattr(message, field, None) or []:
            _check_address(addr, field.replace("_", "-").capitalize())
    _check_line(message.subject, "Subject")
    for name, value in (message.extra_headers or {}).items():
        _check_line(name, "Header name")
        _check_line(value, f"Header {name}")
    if getattr(message, "outbox_category", "urgent") not in ("urgent", "bulk"):
        raise InvalidMessage(_("outbox_category must be 'urgent' or 'bulk'."))
    send_at(message)


def send_at(message):
    """When the message may leave, as an aware datetime, or None for now. Anymail's forms are
    accepted: an aware or naive datetime (naive is in the current time zone), a date (its
    midnight there), or a POSIX timestamp."""
    value = getattr(message, "send_at", UNSET)
    if value is UNSET or value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, datetime.date):
        return timezone.make_aware(datetime.datetime.combine(value, datetime.time()))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)
    raise InvalidMessage(_("send_at must be a datetime, a date or a timestamp."))


def _encode_attachment(attachment):
    if isinstance(attachment, tuple):
        filename, content, mimetype = attachment
        raw = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        return {"filename": filename, "content": base64.b64encode(raw).decode(), "mimetype": mimetype}
    # A MIMEBase part: keep it whole.
    return {"mime": base64.b64encode(attachment.as_bytes()).decode()}


def _message_id(message):
    """The message's own Message-ID, or a new one fixed now: every delivery attempt of this row
    carries the same id, so a receiver can recognise the rare duplicate (see delivery.py)."""
    for name, value in (message.extra_headers or {}).items():
        if name.lower() == "message-id":
            return str(value)
    domain = email.utils.parseaddr(str(message.from_email))[1].rpartition("@")[2] or "localhost"
    return email.utils.make_msgid(domain=domain)


def to_payload(message):
    headers = {str(k): str(v) for k, v in (message.extra_headers or {}).items() if k.lower() != "message-id"}
    headers["Message-ID"] = _message_id(message)
    payload = {
        "from_email": message.from_email,
        "to": list(message.to),
        "cc": list(message.cc),
        "bcc": list(message.bcc),
        "reply_to": list(message.reply_to),
        "subject": str(message.subject),
        "body": str(message.body),
        "alternatives": [[str(c), m] for c, m in getattr(message, "alternatives", [])],
        "headers": headers,
        "attachments": [_encode_attachment(a) for a in message.attachments],
        "anymail": {},
    }
    for attr in ANYMAIL_ATTRS:
        value = getattr(message, attr, UNSET)
        if value is not UNSET:  # UNSET is what a restored OutboxMessage starts with
            try:
                json.dumps(value)
            except TypeError:
                raise InvalidMessage(f"Anymail attribute {attr!r} must be JSON-serialisable.") from None
            payload["anymail"][attr] = value
    return payload


def from_payload(payload):
    message = OutboxMessage(
        subject=payload["subject"],
        body=payload["body"],
        from_email=payload["from_email"],
        to=payload["to"],
        cc=payload["cc"],
        bcc=payload["bcc"],
        reply_to=payload["reply_to"],
        headers=payload["headers"],
    )
    for content, mimetype in payload["alternatives"]:
        message.attach_alternative(content, mimetype)
    for item in payload["attachments"]:
        if "mime" in item:
            message.attach(message_from_bytes(base64.b64decode(item["mime"])))
        else:
            message.attach(item["filename"], base64.b64decode(item["content"]), item["mimetype"])
    for attr, value in payload.get("anymail", {}).items():
        setattr(message, attr, value)
    return message


def redact(payload, secrets):
    """A copy of the payload with each secret string replaced, for keeping after delivery."""
    text = json.dumps(payload)
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            # The HTML part holds a link as the template escaped it ("&" as "&amp;").
            for form in dict.fromkeys([secret, str(escape(secret))]):
                text = text.replace(json.dumps(form)[1:-1], REDACTED)
    return json.loads(text)
