"""Tracking events from the providers' webhooks (through Anymail) onto outbox rows.

Each event is stored once (unique per provider, event id and recipient), so a webhook that is
retried or replayed changes nothing. An outbox row's status only moves forward:

    sent -> delivered -> rejected -> bounced -> complained

so whatever order the events arrive in, the row ends with the gravest outcome reported. A row
whose provider message id is not recorded yet (the webhook beat the worker) gets its events
attached when the worker records the id.
"""

import hashlib
import json
import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone

from ..conf import settings
from ..models import EmailEvent, OutboundEmail, Suppression, WebhookToken
from .suppression import address_normalize, suppression_apply_event

logger = logging.getLogger(__name__)
Status = OutboundEmail.Status

# Anymail's normalised event type -> the outbox status it implies.
EVENT_STATUS = {
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "rejected": Status.REJECTED,
    "bounced": Status.BOUNCED,
    "complained": Status.COMPLAINED,
}
# How far a signed webhook's timestamp may be from our clock, in seconds, either way.
WEBHOOK_MAX_SKEW = 300
# The provider name under which SNS MessageIds are kept (WebhookToken.provider).
SNS_PROVIDER = "Amazon SNS"
RANK = {Status.SENT: 1, Status.DELIVERED: 2, Status.REJECTED: 3, Status.BOUNCED: 4, Status.COMPLAINED: 5}


def status_advance(*, email_id, event_type):
    """Move the row to the status `event_type` implies, if that is further along. Atomic."""
    new = EVENT_STATUS.get(event_type)
    if new is None:
        return False
    behind = [status for status, rank in RANK.items() if rank < RANK[new]]
    return OutboundEmail.objects.filter(pk=email_id, status__in=behind).update(status=new) > 0


def bounce_kind(event_type, raw):
    """ "hard", "soft" or "" for an event, from the provider's own words where it gives them."""
    if event_type == "deferred":
        return EmailEvent.Bounce.SOFT
    if event_type != "bounced":
        return ""
    if isinstance(raw.get("bounce"), dict):  # Amazon SES: Permanent, Transient or Undetermined
        permanent = raw["bounce"].get("bounceType") == "Permanent"
        return EmailEvent.Bounce.HARD if permanent else EmailEvent.Bounce.SOFT
    data = raw.get("event-data")
    if isinstance(data, dict):  # Mailgun: "old" means it gave up retrying a temporary failure
        temporary = data.get("severity") == "temporary" or data.get("reason") == "old"
        return EmailEvent.Bounce.SOFT if temporary else EmailEvent.Bounce.HARD
    return EmailEvent.Bounce.HARD


def _jsonable(esp_event):
    if isinstance(esp_event, QueryDict):  # Mailgun's legacy form posts
        esp_event = {key: values if len(values) > 1 else values[0] for key, values in esp_event.lists()}
    try:
        return json.loads(json.dumps(esp_event, default=str))
    except (TypeError, ValueError):
        return {"repr": repr(esp_event)}


def tracking_event_record(*, event, esp_name):
    """Store an Anymail tracking event and apply it (status, suppression). Returns the new
    EmailEvent, or None when it was a duplicate."""
    raw = _jsonable(event.esp_event)
    recipient = address_normalize(event.recipient)
    message_id = (event.message_id or "")[:255]
    event_id = (
        event.event_id
        or "sha256:"
        + hashlib.sha256(json.dumps([event.event_type, message_id, raw], sort_keys=True).encode()).hexdigest()
    )
    email_id = None
    if message_id:
        email_id = OutboundEmail.objects.filter(provider_message_id=message_id).values_list("pk", flat=True).first()
    with transaction.atomic():
        row, created = EmailEvent.objects.get_or_create(
            provider=esp_name[:50],
            event_id=event_id[:255],
            recipient=recipient[:320],
            defaults={
                "email_id": email_id,
                "event_type": str(event.event_type)[:20],
                "message_id": message_id,
                "bounce": bounce_kind(event.event_type, raw if isinstance(raw, dict) else {}),
                "occurred_at": event.timestamp or timezone.now(),
                "description": event.description or "",
                "mta_response": event.mta_response or "",
                "reject_reason": event.reject_reason or "",
                "raw": raw,
            },
        )
        if not created:
            logger.debug("tracking: duplicate %s event %s ignored", esp_name, event_id)
            return None
        if email_id:
            status_advance(email_id=email_id, event_type=row.event_type)
        suppression_apply_event(event=row)
    return row


def tracking_attach(*, email_id, message_id):
    """Attach events that arrived before the row's provider message id was recorded."""
    if not message_id:
        return 0
    with transaction.atomic():
        orphans = list(EmailEvent.objects.select_for_update().filter(email__isnull=True, message_id=message_id))
        if orphans:
            EmailEvent.objects.filter(pk__in=[event.pk for event in orphans]).update(email_id=email_id)
            # Forward-only: the gravest of them is where the row ends up, whatever their order.
            gravest = max(orphans, key=lambda event: RANK.get(EVENT_STATUS.get(event.event_type), 0))
            status_advance(email_id=email_id, event_type=gravest.event_type)
    if orphans:
        Suppression.objects.filter(email__isnull=True, first_event__in=orphans).update(email_id=email_id)
    return len(orphans)


def webhook_token_use(*, provider, token, signed_at):
    """Mark a signed post's token used. False if it was used before: the post is a replay. Inside
    the caller's transaction, so a post whose events fail to record leaves its token for the retry."""
    try:
        with transaction.atomic():
            WebhookToken.objects.create(provider=provider, token=token, signed_at=signed_at)
    except IntegrityError:
        return False
    return True


def webhook_tokens_prune(*, now=None):
    """Forget tokens whose timestamp is too old to be accepted again. Kept for twice the window, so
    that a web host whose clock runs behind the worker's still finds every token it could accept.
    SNS MessageIds have their own window, NOTIFICATIONS_SNS_MAX_AGE."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=2 * WEBHOOK_MAX_SKEW)
    sns_stale = now - timedelta(seconds=2 * float(settings.NOTIFICATIONS_SNS_MAX_AGE))
    old = Q(signed_at__lt=stale) & ~Q(provider=SNS_PROVIDER) | Q(provider=SNS_PROVIDER, signed_at__lt=sns_stale)
    deleted, _count = WebhookToken.objects.filter(old).delete()
    return deleted
