"""The outbox email backend: MAILERS["default"] for the whole project.

send_messages() validates each message, stores it as an OutboundEmail row in the caller's
transaction and, once that transaction commits, enqueues its delivery. A rolled-back caller sends
nothing; a broker that is down at commit time loses nothing (the sweeper picks the row up).
"""

import json
import logging

from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction

from .models import OutboundEmail
from .ops import metrics
from .outbox import crypto, idempotency
from .outbox.ceiling import ceiling_check
from .outbox.message import redact, send_at, to_payload, validate
from .outbox.services import outbox_enqueue_on_commit

logger = logging.getLogger(__name__)


class OutboxBackend(BaseEmailBackend):
    """Each message sent gets `outbox_id`, its row's id: for a repeated idempotency key, the id
    of the first send's row, with `outbox_duplicate` True and nothing stored."""

    def send_messages(self, email_messages):
        messages = list(email_messages)
        keys = [idempotency.message_key(message) for message in messages]  # the header comes off
        for message in messages:
            validate(message)  # all or nothing: one bad message stores none of them
        payloads = [to_payload(message) for message in messages]
        # No savepoint: two round trips less per send() inside a request's transaction. A failed
        # INSERT then fails the caller's transaction too, as a plain save() would.
        with transaction.atomic(savepoint=False):
            fresh, claimed = self._claim(messages, keys, payloads)
            rows = [self._row(message, payload) for message, payload in fresh]
            held = ceiling_check(rows)
            OutboundEmail.objects.bulk_create(rows)
            for (message, _payload), row in zip(fresh, rows, strict=True):
                message.outbox_id, message.outbox_duplicate = row.pk, False
            for message, key in zip(messages, keys, strict=True):
                if message.outbox_duplicate and message.outbox_id is None:  # a twin in this batch
                    message.outbox_id = rows[claimed[key]].pk
            idempotency.keys_attach({key: rows[index] for key, index in claimed.items()})
            if rows:
                metrics.outbox_created(rows)
                outbox_enqueue_on_commit([row for row in rows if all(row is not other for other in held)])
        for row in held:
            logger.warning("outbox: email %s to %s %s", row.pk, row.recipients, row.last_error)
        return len(messages)

    def _claim(self, messages, keys, payloads):
        """The messages to store, and {key: index among them} for the keys this send now holds. A
        message whose key another send holds is answered with that send's row, and not stored."""
        fresh, claimed = [], {}
        for message, key, payload in zip(messages, keys, payloads, strict=True):
            message.outbox_id, message.outbox_duplicate = None, False
            if key is not None:
                held = None
                if key not in claimed:
                    held = idempotency.key_claim(key=key, fingerprint=idempotency.fingerprint(message, payload))
                if held is not None or key in claimed:
                    message.outbox_id = held.email_id if held is not None else None
                    message.outbox_duplicate = True
                    continue
                claimed[key] = len(fresh)
            fresh.append((message, payload))
        return fresh, claimed

    def _row(self, message, payload):
        sensitive = bool(getattr(message, "outbox_sensitive", False))
        row = OutboundEmail(
            category=getattr(message, "outbox_category", OutboundEmail.Category.URGENT),
            template=getattr(message, "outbox_template", "")[:100],
            from_email=str(message.from_email),
            recipients=", ".join(message.recipients()),
            subject=str(message.subject)[:998],
            sensitive=sensitive,
            unsolicited=bool(getattr(message, "outbox_unsolicited", False)),
        )
        when = send_at(message)
        if when is not None:
            row.next_attempt_at = when  # the outbox holds it until then, whatever the provider
        if sensitive:
            payload["redact"] = [str(s) for s in getattr(message, "outbox_redact", ())]
            row.payload_encrypted = crypto.encrypt(json.dumps(payload).encode("utf-8"))
            # The subject column stays readable for the admin, so a code in it must not be.
            row.subject = redact(row.subject, payload["redact"])[:998]
        else:
            row.payload = payload
        return row
