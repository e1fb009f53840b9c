"""Retention: the outbox keeps no more personal data than it needs, and stays small enough to be fast.

Each kind of row has a setting (defaults in conf.py; a project that sets nothing gets them):

NOTIFICATIONS_CONTENT_RETENTION_DAYS  30   a finished row's content (body, headers, attachments)
                                           is dropped; subject, recipients and outcome stay
NOTIFICATIONS_EVENT_RETENTION_DAYS    90   tracking events are deleted
NOTIFICATIONS_OUTBOX_RETENTION_DAYS   365  finished rows are deleted, with their events
(failed rows are never touched: an operator handles them, then deletes them in the admin)
Idempotency keys are deleted once NOTIFICATIONS_IDEMPOTENCY_WINDOW seconds old (24 hours).

Work is done in batches of NOTIFICATIONS_RETENTION_BATCH rows, each its own short transaction, and
a scheduled run stops after NOTIFICATIONS_RETENTION_MAX_BATCHES of them, so it never holds many
locks for long; the next run goes on where this one stopped.
"""

import logging
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from ..conf import settings
from ..models import EmailEvent, OutboundEmail
from ..outbox import idempotency

logger = logging.getLogger(__name__)
Status = OutboundEmail.Status
# Rows whose story is over; queued, sending and failed rows are never purged.
FINISHED = [
    Status.SENT,
    Status.DELIVERED,
    Status.BOUNCED,
    Status.COMPLAINED,
    Status.REJECTED,
    Status.SUPPRESSED,
]
# Matches the partial index outbox_content_idx, so finding rows with content is an index scan.
HAS_CONTENT = ~Q(payload_encrypted="", payload={})


def setting(name):
    return getattr(settings, name)


def in_batches(queryset, action, *, batch, max_batches):
    """Apply `action(ids)` to `queryset`'s rows, `batch` ids at a time; returns rows handled."""
    done = 0
    for _ in range(max_batches if max_batches is not None else 1 << 62):
        ids = list(queryset.values_list("pk", flat=True)[:batch])
        if not ids:
            break
        done += action(ids)
        if len(ids) < batch:
            break
    return done


def content_strip(*, older_than, now=None, batch=None, max_batches=None):
    cutoff = (now or timezone.now()) - timedelta(days=older_than)
    rows = OutboundEmail.objects.filter(HAS_CONTENT, created_at__lt=cutoff, status__in=FINISHED).order_by()
    return in_batches(
        rows,
        lambda ids: OutboundEmail.objects.filter(pk__in=ids).update(payload={}, payload_encrypted="", redacted=True),
        batch=batch or setting("NOTIFICATIONS_RETENTION_BATCH"),
        max_batches=max_batches,
    )


def events_purge(*, older_than, now=None, batch=None, max_batches=None):
    cutoff = (now or timezone.now()) - timedelta(days=older_than)
    return in_batches(
        EmailEvent.objects.filter(received_at__lt=cutoff).order_by(),
        lambda ids: EmailEvent.objects.filter(pk__in=ids).delete()[0],
        batch=batch or setting("NOTIFICATIONS_RETENTION_BATCH"),
        max_batches=max_batches,
    )


def outbox_purge(*, older_than, now=None, batch=None, max_batches=None):
    """Delete finished rows created more than `older_than` days ago (their events go with them).
    Returns the number of outbox rows deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=older_than)

    def delete(ids):
        deleted = OutboundEmail.objects.filter(pk__in=ids).delete()[1]
        return deleted.get(OutboundEmail._meta.label, 0)

    return in_batches(
        OutboundEmail.objects.filter(status__in=FINISHED, created_at__lt=cutoff).order_by(),
        delete,
        batch=batch or setting("NOTIFICATIONS_RETENTION_BATCH"),
        max_batches=max_batches,
    )


def retention_apply(*, now=None, bounded=True, batch=None):
    """Everything the settings ask for. A scheduled run is `bounded` (at most
    NOTIFICATIONS_RETENTION_MAX_BATCHES batches of each kind); on demand it goes to the end."""
    limits = {"now": now, "batch": batch}
    limits["max_batches"] = setting("NOTIFICATIONS_RETENTION_MAX_BATCHES") if bounded else None
    done = {
        # Rows to delete first, so none is stripped just before it goes.
        "outbox_deleted": outbox_purge(older_than=setting("NOTIFICATIONS_OUTBOX_RETENTION_DAYS"), **limits),
        "events_deleted": events_purge(older_than=setting("NOTIFICATIONS_EVENT_RETENTION_DAYS"), **limits),
        "content_stripped": content_strip(older_than=setting("NOTIFICATIONS_CONTENT_RETENTION_DAYS"), **limits),
        "idempotency_keys_deleted": idempotency.keys_purge(now=now),
    }
    if any(done.values()):
        logger.info("retention: %s", ", ".join(f"{key} {value}" for key, value in done.items()))
    return done
