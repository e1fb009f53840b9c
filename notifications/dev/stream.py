"""The dev mailbox's live updates: a Server-Sent Events stream that says when the mailbox changed
(a mail arrived or was deleted, a status or the read state moved), so the list fetches its rows
then, instead of asking every two seconds.

One stream holds a server thread (runserver's, or a gunicorn worker's), so it is bounded: it ends
after NOTIFICATIONS_MAILBOX_STREAM_SECONDS, and the browser's EventSource reconnects by itself
(after `retry` ms). A comment line every HEARTBEAT seconds keeps proxies from closing an idle
stream and lets the server notice a client that has gone."""

import json
import time

from django.db.models import Count, Max

from ..conf import settings
from ..models import OutboundEmail

RETRY_MS = 1000


def mailbox_state():
    """A short fingerprint of the whole mailbox: it changes with every change the list shows."""
    sums = OutboundEmail.objects.aggregate(
        count=Count("pk"), last=Max("pk"), updated=Max("updated_at"), read=Count("read_at"), read_last=Max("read_at")
    )
    return "|".join(str(value.timestamp() if hasattr(value, "timestamp") else value) for value in sums.values())


def _event(name, data):
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def mailbox_stream(*, clock=time.monotonic, sleep=time.sleep):
    """The stream's chunks: the current state first, then one `mailbox` event per change, and
    heartbeat comments, until the stream's time is up."""
    duration = float(settings.NOTIFICATIONS_MAILBOX_STREAM_SECONDS)
    heartbeat = float(settings.NOTIFICATIONS_MAILBOX_HEARTBEAT)
    interval = float(settings.NOTIFICATIONS_MAILBOX_STREAM_INTERVAL)
    last = mailbox_state()
    yield f"retry: {RETRY_MS}\n" + _event("state", last)
    start = beat = clock()
    while clock() - start < duration:
        sleep(interval)
        state = mailbox_state()
        if state != last:
            last, beat = state, clock()
            yield _event("mailbox", state)
        elif clock() - beat >= heartbeat:
            beat = clock()
            yield ": heartbeat\n\n"
    yield _event("bye", last)
