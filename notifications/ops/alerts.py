"""Alerts for mail that is stuck or bouncing: one email to ADMINS per incident, and a banner on
the delivery dashboard while it lasts.

An incident starts when a check first fails and ends when it passes again. Its start is kept in
the cache (`cache.add`, so two beat runs racing send one email, not two). A stuck outbox cannot
carry news about itself, so that alert goes straight to the transport; a bounce alert goes
through the outbox like any other mail.

Settings (defaults in conf.py, so a project that sets nothing still gets alerts):
NOTIFICATIONS_ALERT_QUEUE_AGE  seconds the oldest queued row may wait (900)
NOTIFICATIONS_ALERT_BOUNCE_RATE  bounced / sent over the last hour (0.05)
NOTIFICATIONS_ALERT_MIN_SENT  fewer sent in the hour than this: no bounce-rate verdict (20)
"""

import logging
from dataclasses import dataclass

from django.core.cache import cache
from django.core.mail import mail_admins
from django.utils import timezone

from ..conf import settings
from . import dashboard

logger = logging.getLogger(__name__)
KEY = "notifications:alert:{}"


def _setting(name, default=None):
    return getattr(settings, name)


@dataclass(frozen=True)
class Alert:
    kind: str  # "stuck" or "bouncing"
    message: str


def alerts_current(*, now=None):
    """The checks that fail right now (what the dashboard's banner shows)."""
    now = now or timezone.now()
    found = []
    limit = _setting("NOTIFICATIONS_ALERT_QUEUE_AGE", 900)
    age = dashboard.queue_depth(now=now)["oldest_age"]
    if age > limit:
        found.append(Alert("stuck", f"The oldest queued email has waited {age / 60:.0f} min (limit {limit / 60:.0f})."))
    bounced, sent = dashboard.bounce_rate(now=now)
    threshold = _setting("NOTIFICATIONS_ALERT_BOUNCE_RATE", 0.05)
    if sent >= _setting("NOTIFICATIONS_ALERT_MIN_SENT", 20) and bounced / sent > threshold:
        found.append(
            Alert(
                "bouncing",
                f"{bounced} of {sent} emails sent in the last hour bounced "
                f"({bounced / sent:.0%}, limit {threshold:.0%}).",
            )
        )
    return found


def alerts_check(*, now=None):
    """Email ADMINS about each incident that has just begun; forget those that ended. Returns the
    kinds emailed about."""
    now = now or timezone.now()
    current = {alert.kind: alert for alert in alerts_current(now=now)}
    emailed = []
    for kind in ("stuck", "bouncing"):
        key = KEY.format(kind)
        if kind not in current:
            cache.delete(key)
            continue
        if cache.add(key, now.isoformat(), timeout=None):
            _notify(current[kind])
            emailed.append(kind)
    return emailed


def _notify(alert):
    subject = {"stuck": "Outbox stuck", "bouncing": "Emails bouncing"}[alert.kind]
    body = f"{alert.message}\n\nSee the delivery dashboard: {settings.SITE_URL}/admin/delivery/\n"
    logger.warning("alert: %s: %s", alert.kind, alert.message)
    try:
        mail_admins(subject, body, using="transport" if alert.kind == "stuck" else None)
    except Exception as error:  # the banner still shows it; forgetting it lets the next check retry
        logger.error("alert: could not email the admins about %s: %s", alert.kind, error)
        cache.delete(KEY.format(alert.kind))
