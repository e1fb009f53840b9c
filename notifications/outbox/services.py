"""Public helpers of the notifications app: render-and-send, and getting rows to a worker."""

import logging
import re
from datetime import timedelta

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from ..conf import settings
from ..models import OutboundEmail
from . import doorbell
from .headers import AUTOMATIC
from .message import OutboxMessage

logger = logging.getLogger(__name__)
# How far ahead a held message (send_at) gets its own wake-up; later ones are the sweeper's.
SCHEDULE_AHEAD = 3600


def email_render(*, template, context=None, language=None):
    """(subject, text, html) from templates/email/<template>/, in `language`."""
    with translation.override(language or settings.LANGUAGE_CODE):
        # LANGUAGE_CODE as the i18n context processor gives pages: the layout's <html lang>.
        context = {"site_url": settings.SITE_URL, "LANGUAGE_CODE": translation.get_language(), **(context or {})}
        subject = render_to_string(f"email/{template}/subject.txt", context)
        text = render_to_string(f"email/{template}/body.txt", context)
        html = render_to_string(f"email/{template}/body.html", context)
    subject = " ".join(subject.split())  # one line, whatever the template does
    return subject, text, html


def email_send(
    *,
    template,
    to,
    context=None,
    language=None,
    category=OutboundEmail.Category.URGENT,
    sensitive=False,
    redact=(),
    headers=None,
    from_email=None,
    unsolicited=False,
    idempotency_key=None,
):
    """Render templates/email/<template>/ and send it through the outbox (Django's email API).
    The site sends these by itself, so each says so (Auto-Submitted, RFC 3834).

    `unsolicited`: anyone could have caused this mail to `to` without proving the mailbox is
    theirs, so it counts against the per-mailbox ceiling (outbox/ceiling.py). With an
    `idempotency_key`, a second call with the same key within NOTIFICATIONS_IDEMPOTENCY_WINDOW
    stores and sends nothing (outbox/idempotency.py). Returns the message; its `outbox_id` is its
    row's id, or the first call's for a repeated key."""
    subject, text, html = email_render(template=template, context=context, language=language)
    message = OutboxMessage(
        subject,
        text,
        from_email or settings.DEFAULT_FROM_EMAIL,
        [to] if isinstance(to, str) else to,
        headers={**AUTOMATIC, **(headers or {})},
        category=category,
        sensitive=sensitive,
        redact=redact,
        template=template,
        unsolicited=unsolicited,
        idempotency_key=idempotency_key,
    )
    message.attach_alternative(html, "text/html")
    message.send()
    return message


def outbox_enqueue(ids_by_queue):
    """Wake the workers of each queue that has rows: one doorbell ring per queue, whatever the
    number of rows (the delivery task claims due rows, not these ids). Never raises: rows nobody
    was woken for stay queued and the sweeper rings for them. Returns the number of rows."""
    categories = {queue: category for category, queue in doorbell.QUEUES.items()}
    for queue, ids in ids_by_queue.items():
        if ids:
            doorbell.ring(categories[queue])
    return sum(len(ids) for ids in ids_by_queue.values())


def outbox_enqueue_on_commit(rows):
    now = timezone.now()
    categories = list(dict.fromkeys(row.category for row in rows if row.next_attempt_at <= now))
    # Rows held until a send_at get a wake-up then, when it is near; the sweeper finds the others.
    later = {
        (row.category, (row.next_attempt_at - now).total_seconds())
        for row in rows
        if now < row.next_attempt_at <= now + timedelta(seconds=SCHEDULE_AHEAD)
    }

    def ring():
        for category in categories:
            doorbell.ring(category)
        for category, delay in sorted(later):
            doorbell.ring_later(category, delay)

    transaction.on_commit(ring, robust=True)


def outbox_sweep(*, now=None):
    """The backstop: rows whose worker died mid-send go back to the queue, and each category
    with due rows gets a ring (for rows whose ring was lost with a broker that was down)."""
    now = now or timezone.now()
    requeued = OutboundEmail.objects.filter(status=OutboundEmail.Status.SENDING, lease_until__lte=now).update(
        status=OutboundEmail.Status.QUEUED, lease_until=None, next_attempt_at=now
    )
    if requeued:
        logger.info("outbox sweep: %d email(s) whose worker stopped mid-send are queued again", requeued)
    due = 0
    for category in doorbell.QUEUES:
        waiting = OutboundEmail.objects.filter(
            status=OutboundEmail.Status.QUEUED, category=category, next_attempt_at__lte=now
        ).count()
        if waiting:
            doorbell.answered(category)  # a ring whose task was lost must not hold the key
            doorbell.ring(category)
            due += waiting
    return due


def outbox_purge_address(*, address):
    """Delete every outbox row with `address` among its recipients (an exact match); returns how
    many. For erasing a person who deleted their account."""
    pattern = rf"(^|, ){re.escape(address)}(,|$)"
    deleted = OutboundEmail.objects.filter(recipients__regex=pattern).delete()[1]
    return deleted.get(OutboundEmail._meta.label, 0)
