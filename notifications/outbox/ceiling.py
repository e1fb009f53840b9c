"""The per-mailbox ceiling: one budget per recipient for the mail anyone can make us send to it.

A confirmation, a reset link, a code or a sign-up notice can be asked for by someone who has not
proved the mailbox is theirs. Each flow has its own rate limits, but every one of them passes
here, so this is the one budget no flow, spelling or client can go around: at most
NOTIFICATIONS_UNSOLICITED_PER_HOUR such messages to one recipient in an hour, and
NOTIFICATIONS_UNSOLICITED_PER_DAY in a day. Past it the row is still written, as the audit record,
but SUPPRESSED with the reason in last_error, and it is never sent.

Mail a person asked for once logged in (a notice of their own action, an alert) is not marked
unsolicited and is not counted. The recipient is the address the flow passed, which for accounts is
the canonical, stored one; counting is an exact match on it. On PostgreSQL a transaction-scoped
advisory lock per recipient makes the count and the insert one step, so parallel senders cannot
both take the last place.
"""

import zlib
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from ..conf import settings
from ..models import OutboundEmail

NOTE = "not sent: the per-mailbox ceiling for unsolicited mail ({limit} per {period}) is reached"
LOCK_SPACE = 0x6D61696C  # "mail": the advisory lock keys' first half, apart from other users'


def _lock(recipient):
    if connection.vendor == "postgresql":
        key = zlib.crc32(recipient.encode("utf-8"))
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_SPACE, key - 2**31])


def ceiling_check(rows, *, now=None):
    """Suppress, in place, the unsolicited rows of `rows` that exceed their recipient's budget.
    Called inside the transaction that inserts them. Returns the rows suppressed."""
    now = now or timezone.now()
    limits = [
        (int(settings.NOTIFICATIONS_UNSOLICITED_PER_HOUR), timedelta(hours=1), "hour"),
        (int(settings.NOTIFICATIONS_UNSOLICITED_PER_DAY), timedelta(days=1), "day"),
    ]
    limits = [limit for limit in limits if limit[0] > 0]
    suppressed = []
    if not limits:
        return suppressed
    counted = {}  # recipient -> rows of this batch already taken
    for row in rows:
        if not row.unsolicited:
            continue
        recipient = row.recipients
        if recipient not in counted:
            _lock(recipient)
            counted[recipient] = 0
        for limit, period, name in limits:
            sent = (
                OutboundEmail.objects.filter(unsolicited=True, recipients=recipient, created_at__gt=now - period)
                .exclude(status=OutboundEmail.Status.SUPPRESSED)
                .count()
            )
            if sent + counted[recipient] >= limit:
                row.status = OutboundEmail.Status.SUPPRESSED
                row.last_error = NOTE.format(limit=limit, period=name)
                suppressed.append(row)
                break
        else:
            counted[recipient] += 1
    return suppressed
