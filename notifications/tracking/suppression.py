"""The suppression list: addresses we stop writing to, and why.

A hard bounce or a spam complaint suppresses an address at once. Soft bounces count: when
settings.NOTIFICATIONS_SOFT_BOUNCE_LIMIT distinct messages to an address soft-bounced within
settings.NOTIFICATIONS_SOFT_BOUNCE_PERIOD seconds, it is suppressed too. An admin may lift a
suppression, giving a reason; soft bounces from before the lift no longer count.
"""

import email.utils
import logging
import re
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..conf import settings
from ..models import EmailEvent, Suppression

logger = logging.getLogger(__name__)
Reason = Suppression.Reason
# When several reasons apply, the row shows the gravest.
GRAVITY = {Reason.SOFT_BOUNCES: 0, Reason.HARD_BOUNCE: 1, Reason.COMPLAINT: 2}


# A bare address of plain atoms, which parseaddr() returns unchanged: the common case, without its cost.
_BARE = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


def address_normalize(address):
    """The one spelling we store and compare: the bare address, trimmed and lower-cased."""
    text = str(address or "")
    if _BARE.fullmatch(text):
        return text.lower()
    _name, addr = email.utils.parseaddr(text)
    return (addr or text).strip().lower()


def suppression_active(addresses):
    """{normalised address: Suppression} for those of `addresses` that are suppressed now."""
    normalised = {address_normalize(a) for a in addresses} - {""}
    if not normalised:
        return {}
    rows = Suppression.objects.filter(address__in=normalised, lifted_at__isnull=True)
    return {row.address: row for row in rows}


def suppression_is_active(address):
    return bool(suppression_active([address]))


def suppression_apply_event(*, event):
    """Update the list after a tracking event was recorded (hard/soft bounce, complaint)."""
    if not event.recipient:
        return None
    if event.event_type == "complained":
        return _suppress(event, Reason.COMPLAINT)
    if event.bounce == EmailEvent.Bounce.HARD:
        return _suppress(event, Reason.HARD_BOUNCE)
    if event.bounce == EmailEvent.Bounce.SOFT:
        return _soft_bounce(event)
    return None


def _soft_bounce(event):
    existing = Suppression.objects.filter(address=event.recipient).first()
    since = timezone.now() - timedelta(seconds=settings.NOTIFICATIONS_SOFT_BOUNCE_PERIOD)
    if existing and existing.lifted_at and existing.lifted_at > since:
        since = existing.lifted_at
    bounced = EmailEvent.objects.filter(
        recipient=event.recipient, bounce=EmailEvent.Bounce.SOFT, occurred_at__gte=since
    )
    # Count messages, not events: a provider reports each retry of one message as another soft bounce.
    count = len({message_id or f"event:{pk}" for pk, message_id in bounced.values_list("pk", "message_id")})
    if existing and existing.active:
        Suppression.objects.filter(pk=existing.pk).update(
            soft_bounce_count=count, last_event=event, updated_at=timezone.now()
        )
        return existing
    if count < settings.NOTIFICATIONS_SOFT_BOUNCE_LIMIT:
        return None
    return _suppress(event, Reason.SOFT_BOUNCES, soft_bounce_count=count)


def _suppress(event, reason, *, soft_bounce_count=None):
    """Create or re-activate the address's row."""
    detail = "; ".join(filter(None, [event.description, event.mta_response]))[:2000]
    fields = {
        "reason": reason,
        "detail": detail,
        "email_id": event.email_id,
        "first_event": event,
        "last_event": event,
        "lifted_at": None,
        "lifted_reason": "",
        "lifted_by": None,
    }
    if soft_bounce_count is not None:
        fields["soft_bounce_count"] = soft_bounce_count
    with transaction.atomic():
        row = Suppression.objects.select_for_update().filter(address=event.recipient).first()
        if row is None:
            try:
                with transaction.atomic():
                    row = Suppression.objects.create(address=event.recipient, **fields)
            except IntegrityError:  # created meanwhile by another webhook request
                row = Suppression.objects.select_for_update().get(address=event.recipient)
            else:
                logger.info("suppression: %s suppressed (%s)", row.address, reason)
                return row
        if row.active:
            row.last_event = event
            if GRAVITY[reason] > GRAVITY.get(row.reason, -1):
                row.reason, row.detail = reason, detail
            row.save(update_fields=["last_event", "reason", "detail", "updated_at"])
        else:
            for name, value in fields.items():
                setattr(row, name, value)
            row.save()
            logger.info("suppression: %s suppressed again (%s)", row.address, reason)
        return row


def suppression_lift(*, suppression, reason, user=None):
    """Lift a suppression, recording why and by whom. Returns False if it was already lifted."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("A reason is required to lift a suppression.")
    updated = Suppression.objects.filter(pk=suppression.pk, lifted_at__isnull=True).update(
        lifted_at=timezone.now(), lifted_reason=reason, lifted_by=user, updated_at=timezone.now()
    )
    if updated:
        logger.info("suppression: %s lifted (%s)", suppression.address, reason)
    return bool(updated)


def message_without_suppressed(message, blocked=None):
    """(message, skipped) where skipped maps each suppressed recipient to its Suppression. The
    message loses those recipients; it is None when nobody is left to send to. `blocked`, when
    given, is a suppression_active() answer already looked up for a whole chunk of messages."""
    if blocked is None:
        blocked = suppression_active(message.recipients())
    mine = {address_normalize(a) for a in message.recipients()}
    blocked = {address: row for address, row in blocked.items() if address in mine}
    if not blocked:
        return message, {}
    for field in ("to", "cc", "bcc"):
        kept = [a for a in getattr(message, field) if address_normalize(a) not in blocked]
        setattr(message, field, kept)
    return (message if message.recipients() else None), blocked
