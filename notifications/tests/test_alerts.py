"""Stuck or bouncing mail: one email to the admins per incident, and a banner while it lasts."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from notifications.models import EmailEvent, OutboundEmail
from notifications.ops.alerts import alerts_check

Status = OutboundEmail.Status


@pytest.fixture
def admins(settings, redis_cache, db):
    settings.ADMINS = ["ops@example.com"]
    settings.NOTIFICATIONS_ALERT_QUEUE_AGE = 300
    return settings


def queued(minutes):
    return OutboundEmail.objects.create(
        from_email="s@example.com",
        recipients="a@example.com",
        subject="s",
        created_at=timezone.now() - timedelta(minutes=minutes),
    )


def test_a_stuck_outbox_emails_the_admins_once_per_incident(admins, admin_client):
    stuck = queued(minutes=30)
    assert alerts_check() == ["stuck"]
    assert alerts_check() == []  # the same incident: no second email
    # Straight through the transport: a stuck outbox could not carry the news.
    assert [m.subject for m in mail.outbox] == ["[Django] Outbox stuck"]
    assert "waited 30 min" in mail.outbox[0].body
    assert 'data-alert="stuck"' in admin_client.get("/admin/delivery/").content.decode()

    OutboundEmail.objects.filter(pk=stuck.pk).update(status=Status.SENT)  # it got going again
    assert alerts_check() == []
    assert 'data-alert="stuck"' not in admin_client.get("/admin/delivery/").content.decode()
    queued(minutes=10)
    assert alerts_check() == ["stuck"]  # a new incident
    assert len(mail.outbox) == 2


def test_bouncing_mail_emails_the_admins_through_the_outbox(admins):
    now = timezone.now()
    for number in range(20):
        email = OutboundEmail.objects.create(
            status=Status.SENT, from_email="s@example.com", recipients="a@example.com", subject="s", sent_at=now
        )
        if number < 4:
            EmailEvent.objects.create(
                email=email, provider="Mailgun", event_id=str(number), event_type="bounced", occurred_at=now
            )
    assert alerts_check() == ["bouncing"]
    assert alerts_check() == []
    alert = OutboundEmail.objects.get(subject="[Django] Emails bouncing")
    assert alert.recipients == "ops@example.com"


def test_few_sends_give_no_bounce_verdict(admins):
    now = timezone.now()
    email = OutboundEmail.objects.create(
        status=Status.SENT, from_email="s@example.com", recipients="a@example.com", subject="s", sent_at=now
    )
    EmailEvent.objects.create(email=email, provider="Mailgun", event_id="1", event_type="bounced", occurred_at=now)
    assert alerts_check() == []
