"""Public helpers of the notifications app: render-and-send, and getting rows to a worker."""

import logging
import re
from datetime import timedelta

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .conf import settings
from .models import OutboundEmail

logger = logging.getLogger(__name__)


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
):
    """Render templates/email/<template>/ and send it through the outbox (Django's email API)."""
    subject, text, html = email_render(template=template, context=context, language=language)
    message = EmailMultiAlternatives(
        subject,
        text,
        from_email or settings.DEFAULT_FROM_EMAIL,
        [to] if isinstance(to, str) else to,
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    message.outbox_category = category
    message.outbox_sensitive = sensitive
    message.outbox_redact = list(redact)
    message.outbox_template = template
    message.send()
    return message


def outbox_enqueue(rows_or_ids_by_queue):
    """Publish delivery tasks, one per chunk of ids per queue. Never raises: a row whose task
    could not be published stays queued and the sweeper publishes it later.

    The rows are stamped `enqueued_at` before their task is published, not after, so no UPDATE
    of ours holds their locks while a worker claims them."""
    from .tasks import outbox_deliver

    chunk = settings.NOTIFICATIONS_CHUNK_SIZE
    published = 0
    for queue, ids in rows_or_ids_by_queue.items():
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            OutboundEmail.objects.filter(pk__in=part, status=OutboundEmail.Status.QUEUED).update(
                enqueued_at=timezone.now()
            )
            try:
                outbox_deliver.apply_async(
                    args=[part],
                    queue=queue,
                    retry=True,
                    retry_policy={"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2},
                )
            except Exception as error:  # broker down: the sweeper will find these rows
                logger.warning("outbox: could not enqueue %d email(s), left queued: %s", len(part), error)
                OutboundEmail.objects.filter(pk__in=part, status=OutboundEmail.Status.QUEUED).update(enqueued_at=None)
                continue
            published += len(part)
    return published


def _by_queue(rows):
    grouped = {}
    for row in rows:
        grouped.setdefault(row.queue, []).append(row.pk)
    return grouped


def outbox_enqueue_on_commit(rows):
    grouped = _by_queue(rows)
    transaction.on_commit(lambda: outbox_enqueue(grouped), robust=True)


def outbox_sweep(*, now=None):
    """Re-publish rows that were never published, or whose worker died mid-send."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.NOTIFICATIONS_SWEEP_AFTER)
    rows = list(
        OutboundEmail.objects.filter(
            Q(status=OutboundEmail.Status.QUEUED, next_attempt_at__lte=now)
            & (Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=stale))
            | Q(status=OutboundEmail.Status.SENDING, lease_until__lte=now)
        ).only("pk", "category")[:10_000]
    )
    if rows:
        logger.info("outbox sweep: re-enqueueing %d email(s)", len(rows))
    return outbox_enqueue(_by_queue(rows))


def outbox_purge_address(*, address):
    """Delete every outbox row with `address` among its recipients (an exact match); returns how
    many. For erasing a person who deleted their account."""
    pattern = rf"(^|, ){re.escape(address)}(,|$)"
    deleted = OutboundEmail.objects.filter(recipients__regex=pattern).delete()[1]
    return deleted.get(OutboundEmail._meta.label, 0)
