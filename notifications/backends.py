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
from .outbox import crypto
from .outbox.ceiling import ceiling_check
from .outbox.message import redact, send_at, to_payload, validate
from .outbox.services import outbox_enqueue_on_commit

logger = logging.getLogger(__name__)


class OutboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        messages = list(email_messages)
        for message in messages:
            validate(message)  # all or nothing: one bad message stores none of them
        rows = [self._row(message) for message in messages]
        # No savepoint: two round trips less per send() inside a request's transaction. A failed
        # INSERT then fails the caller's transaction too, as a plain save() would.
        with transaction.atomic(savepoint=False):
            held = ceiling_check(rows)
            OutboundEmail.objects.bulk_create(rows)
            metrics.outbox_created(rows)
            outbox_enqueue_on_commit([row for row in rows if all(row is not other for other in held)])
        for row in held:
            logger.warning("outbox: email %s to %s %s", row.pk, row.recipients, row.last_error)
        return len(rows)

    def _row(self, message):
        payload = to_payload(message)
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
