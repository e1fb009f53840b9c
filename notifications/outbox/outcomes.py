"""Writing what happened to each message, in groups: one UPDATE for up to GROUP messages.

An outcome is kept in memory until its group is written. A worker killed in between has sent
those messages without recording it; their leases expire and they are sent again. So the
duplicate window is the group: at most settings.NOTIFICATIONS_OUTCOME_GROUP messages (10), and a
group is written as soon as its oldest outcome is NOTIFICATIONS_OUTCOME_MAX_AGE old (0.2 s) at the
end of a send. Each write is fenced by the claim's lease: a worker whose lease was taken over
writes nothing.
"""

import json
import logging
import time

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from ..conf import settings
from ..models import EmailEvent, OutboundEmail
from ..tracking.services import tracking_attach
from ..tracking.suppression import address_normalize, suppression_apply_event

logger = logging.getLogger(__name__)
Status = OutboundEmail.Status

# (column, SQL type, how the column takes the value `v.<column>`; NULL keeps the row's own value)
COLUMNS = [
    ("status", "varchar", "v.status"),
    ("last_error", "text", "v.last_error"),
    ("sent_at", "timestamptz", "COALESCE(v.sent_at, t.sent_at)"),
    ("provider", "varchar", "COALESCE(v.provider, t.provider)"),
    ("provider_message_id", "varchar", "COALESCE(v.provider_message_id, t.provider_message_id)"),
    ("provider_since_attempt", "integer", "COALESCE(v.provider_since_attempt, t.provider_since_attempt)"),
    ("next_attempt_at", "timestamptz", "COALESCE(v.next_attempt_at, t.next_attempt_at)"),
    ("attempts", "integer", "t.attempts + v.attempts"),
    ("payload", "jsonb", "COALESCE(v.payload, t.payload)"),
    ("payload_encrypted", "text", "COALESCE(v.payload_encrypted, t.payload_encrypted)"),
    ("redacted", "boolean", "t.redacted OR v.redacted"),
    ("mime", "text", "COALESCE(v.mime, t.mime)"),
    ("refused_recipients", "jsonb", "COALESCE(v.refused_recipients, t.refused_recipients)"),
]


class Outcomes:
    """The outcomes of one claim (rows sharing `lease`), written in groups."""

    def __init__(self, lease):
        self.lease = lease
        self.pending = []  # [(row, {column: value})]
        self.oldest = None

    def add(self, row, status, *, last_error="", attempts=0, **values):
        if not self.pending:
            self.oldest = time.monotonic()
        self.pending.append((row, {"status": status, "last_error": last_error[:2000], "attempts": attempts, **values}))

    def due(self):
        return bool(self.pending) and (
            len(self.pending) >= settings.NOTIFICATIONS_OUTCOME_GROUP
            or time.monotonic() - self.oldest >= settings.NOTIFICATIONS_OUTCOME_MAX_AGE
        )

    def flush(self):
        """Write every pending outcome in one statement; then the follow-ups that need the row
        recorded first (early tracking events, refused recipients as bounces)."""
        pending, self.pending = self.pending, []
        if not pending:
            return 0
        written = _update(pending, self.lease)
        if written < len(pending):
            logger.warning("outbox: %d outcome(s) not written: their claim was taken over", len(pending) - written)
        for row, values in pending:
            if values.get("provider_message_id"):
                tracking_attach(email_id=row.pk, message_id=values["provider_message_id"])
            if values.get("refused_recipients"):
                refused_as_bounces(row, values)
        return written

    def lease_renew(self, rows, lease):
        """A slow chunk keeps its claim: the rows not yet written get a later lease (the new fencing
        token); pending outcomes are written first, under the old one."""
        self.flush()
        held = OutboundEmail.objects.filter(pk__in=[row.pk for row in rows], status=Status.SENDING)
        held.filter(lease_until=self.lease).update(lease_until=lease)
        self.lease = lease


def _update(pending, lease):
    if connection.vendor != "postgresql":
        with transaction.atomic():
            return _update_each(pending, lease)
    names = ", ".join(name for name, _type, _set in COLUMNS)
    row_sql = "(%s::bigint, " + ", ".join(f"%s::{sql_type}" for _name, sql_type, _set in COLUMNS) + ")"
    params = []
    for row, values in pending:
        params.append(row.pk)
        for name, sql_type, _set in COLUMNS:
            value = values.get(name)
            if sql_type == "jsonb" and value is not None:
                value = json.dumps(value)
            if name == "redacted":
                value = bool(value)
            params.append(value)
    table = OutboundEmail._meta.db_table
    assignments = ", ".join(f"{name} = {expression}" for name, _type, expression in COLUMNS)
    # Names come from COLUMNS and the model; every value is a parameter.
    sql = (
        f"UPDATE {table} AS t SET {assignments}, lease_until = NULL, updated_at = %s "  # noqa: S608
        f"FROM (VALUES {', '.join([row_sql] * len(pending))}) AS v(id, {names}) "
        "WHERE t.id = v.id AND t.status = %s AND t.lease_until = %s"
    )
    # One autocommitted statement. Inside a drain it does not wait for the disk (see
    # delivery._commits_without_waiting_for_disk): a worker killed after it loses nothing, and only
    # a crash of PostgreSQL itself can lose the last few hundred milliseconds of outcomes, whose
    # messages are then sent again (see the README).
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.now(), *params, Status.SENDING, lease])
        return cursor.rowcount


def _update_each(pending, lease):
    """The same outcomes, one UPDATE per row, for databases without UPDATE ... FROM (VALUES) and
    casts (SQLite under `make run` or in a small project): the same fencing, the same columns."""
    now, written = timezone.now(), 0
    for row, values in pending:
        changes = {"status": values["status"], "last_error": values["last_error"], "updated_at": now}
        changes.update(lease_until=None, attempts=F("attempts") + values["attempts"])
        if values.get("redacted"):
            changes["redacted"] = True
        for name, _type, _set in COLUMNS:
            if name not in changes and name != "redacted" and values.get(name) is not None:
                changes[name] = values[name]
        rows = OutboundEmail.objects.filter(pk=row.pk, status=Status.SENDING, lease_until=lease)
        written += rows.update(**changes)
    return written


def refused_as_bounces(row, values):
    """A recipient the server refused while it took the message for the others bounced: a 5xx
    reply is a hard bounce, a 4xx a soft one (the others have the message: no retry)."""
    now = timezone.now()
    for address, reply in values["refused_recipients"].items():
        hard = not reply[:1].isdigit() or reply[:1] == "5"
        event, created = EmailEvent.objects.get_or_create(
            provider=values.get("provider") or row.provider or "transport",
            event_id=f"refused:{row.pk}:{row.attempts}",
            recipient=address_normalize(address),
            defaults={
                "email_id": row.pk,
                "event_type": "bounced",
                "bounce": EmailEvent.Bounce.HARD if hard else EmailEvent.Bounce.SOFT,
                "message_id": values.get("provider_message_id") or "",
                "occurred_at": now,
                "mta_response": reply[:2000],
                "description": "refused at RCPT TO while the other recipients were accepted",
            },
        )
        if created:
            suppression_apply_event(event=event)
