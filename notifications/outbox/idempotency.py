"""Idempotency keys: a caller that retries (after a timeout, a redelivered task) sends one email.

A message carries its key as the `idempotency_key` option of email_send and OutboxMessage, or as
an `X-Idempotency-Key` header on any Django EmailMessage; the header is taken off the message
before it is stored, so it never reaches the wire.

The first send with a key claims it: one INSERT ... ON CONFLICT into IdempotencyKey, in the
sender's transaction, on the table's unique constraint. A parallel send with the same key waits on
that constraint until the first commits, and then finds the key taken: exactly one row is written,
however the calls race. A send whose key is taken writes nothing and gets the first email's id
(`message.outbox_id`), provided it asks for the same message; if not, IdempotencyKeyReused says so.

"The same message" is the message's content for a plain EmailMessage. For one rendered from a
template it is the template, the sender, the recipients and the category: a second render of a
confirmation carries a fresh link, and is still the same email.

A key is kept NOTIFICATIONS_IDEMPOTENCY_WINDOW seconds (24 hours); after that it is free again,
and retention deletes it.
"""

import hashlib
import json
from datetime import timedelta

from django.db import connections, router
from django.utils import timezone
from django.utils.translation import gettext as _

from ..conf import settings
from ..models import IdempotencyKey
from .message import InvalidMessage

HEADER = "X-Idempotency-Key"
MAX_LENGTH = IdempotencyKey._meta.get_field("key").max_length


class IdempotencyKeyReused(InvalidMessage):
    """The key was used, within its window, for a different message."""


def message_key(message):
    """The message's key (the option, else the header), with the header taken off the message."""
    key = getattr(message, "outbox_idempotency_key", None)
    headers = message.extra_headers or {}
    for name in [name for name in headers if name.lower() == HEADER.lower()]:
        value = headers.pop(name)
        key = key or value
    if key is None or key == "":
        return None
    key = str(key)
    if len(key) > MAX_LENGTH or "\n" in key or "\r" in key:
        raise InvalidMessage(
            _("An idempotency key must be one line of at most %(max)d characters.") % {"max": MAX_LENGTH}
        )
    return key


def fingerprint(message, payload):
    template = getattr(message, "outbox_template", "")
    if template:
        basis = {
            "template": template,
            "from": str(message.from_email),
            "recipients": sorted(message.recipients()),
            "category": getattr(message, "outbox_category", "urgent"),
        }
    else:
        basis = {**payload, "headers": {k: v for k, v in payload["headers"].items() if k.lower() != "message-id"}}
    return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()


def key_claim(*, key, fingerprint, now=None):
    """None when this send now holds `key` (taken over if expired); otherwise the IdempotencyKey of
    the send that holds it. Raises IdempotencyKeyReused if that send asked for another message."""
    now = now or timezone.now()
    expires = now + timedelta(seconds=settings.NOTIFICATIONS_IDEMPOTENCY_WINDOW)
    connection = connections[router.db_for_write(IdempotencyKey)]
    table = connection.ops.quote_name(IdempotencyKey._meta.db_table)
    with connection.cursor() as cursor:
        # The table name is the model's, quoted; every value is a parameter.
        sql = (
            f"INSERT INTO {table} (key, fingerprint, email_id, created_at, expires_at) VALUES (%s, %s, NULL, %s, %s) "  # noqa: S608
            "ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, email_id = NULL, "
            f"created_at = excluded.created_at, expires_at = excluded.expires_at WHERE {table}.expires_at <= %s "
            "RETURNING id"
        )
        cursor.execute(
            sql,
            [key, fingerprint, *map(connection.ops.adapt_datetimefield_value, (now, expires, now))],
        )
        if cursor.fetchone() is not None:
            return None
    held = IdempotencyKey.objects.get(key=key)
    if held.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            _("The idempotency key %(key)r was used for a different message within the last %(hours)s hours.")
            % {"key": key, "hours": f"{settings.NOTIFICATIONS_IDEMPOTENCY_WINDOW / 3600:g}"}
        )
    return held


def keys_attach(rows_by_key):
    """Point each claimed key at the row its send wrote."""
    for key, row in rows_by_key.items():
        IdempotencyKey.objects.filter(key=key).update(email=row)


def keys_purge(*, now=None):
    """Delete expired keys; returns how many."""
    return IdempotencyKey.objects.filter(expires_at__lte=now or timezone.now()).delete()[0]
