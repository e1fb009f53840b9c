"""Retention: old content dropped, old events and rows deleted in bounded batches, failed rows kept."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import EmailCaptcha
from accounts.retention import code_audit_purge
from mailsite.tasks import retention_purge
from notifications.models import EmailEvent, OutboundEmail
from notifications.ops import retention

Status = OutboundEmail.Status
pytestmark = pytest.mark.django_db


def email(status, days_old, **fields):
    return OutboundEmail.objects.create(
        status=status,
        from_email="s@example.com",
        recipients="ann@example.com",
        subject="Hello",
        payload={"body": "personal words"},
        created_at=timezone.now() - timedelta(days=days_old),
        **fields,
    )


def test_the_scheduled_purge_follows_the_defaults():
    old_sent = email(Status.DELIVERED, 40)
    old_secret = email(Status.SENT, 40, payload_encrypted="ciphertext", sensitive=True)
    recent = email(Status.SENT, 5)
    old_failed = email(Status.FAILED, 400)
    old_queued = email(Status.QUEUED, 400)
    ancient = email(Status.SENT, 400)
    old_event = EmailEvent.objects.create(
        email=recent,
        provider="Mailgun",
        event_id="1",
        event_type="delivered",
        received_at=timezone.now() - timedelta(days=91),
    )
    new_event = EmailEvent.objects.create(email=recent, provider="Mailgun", event_id="2", event_type="opened")
    now = timezone.now()
    EmailCaptcha.objects.create(
        email="a@example.com", purpose="login", expires_at=now, created_at=now - timedelta(days=91)
    )
    kept_code = EmailCaptcha.objects.create(email="a@example.com", purpose="login", expires_at=now)

    done = retention_purge()

    assert done == {
        "content_stripped": 2,
        "idempotency_keys_deleted": 0,
        "events_deleted": 1,
        "outbox_deleted": 1,
        "codes_deleted": 1,
        "sessions_deleted": 0,
    }
    for stripped in (old_sent, old_secret):
        stripped.refresh_from_db()
        assert (stripped.payload, stripped.payload_encrypted, stripped.redacted) == ({}, "", True)
        assert stripped.subject == "Hello" and stripped.recipients == "ann@example.com"
    recent.refresh_from_db()
    assert recent.payload == {"body": "personal words"}
    assert set(OutboundEmail.objects.values_list("pk", flat=True)) == {
        old_sent.pk,
        old_secret.pk,
        recent.pk,
        old_failed.pk,
        old_queued.pk,
    }
    assert not OutboundEmail.objects.filter(pk=ancient.pk).exists()
    assert list(EmailEvent.objects.values_list("pk", flat=True)) == [new_event.pk]
    assert not EmailEvent.objects.filter(pk=old_event.pk).exists()
    assert list(EmailCaptcha.objects.values_list("pk", flat=True)) == [kept_code.pk]
    assert retention_purge() == {
        "content_stripped": 0,
        "idempotency_keys_deleted": 0,
        "events_deleted": 0,
        "outbox_deleted": 0,
        "codes_deleted": 0,
        "sessions_deleted": 0,
    }


def test_a_scheduled_run_stops_after_its_batches(settings):
    settings.NOTIFICATIONS_RETENTION_BATCH = 2
    settings.NOTIFICATIONS_RETENTION_MAX_BATCHES = 2
    for _ in range(7):
        email(Status.SENT, 40)
    assert retention.retention_apply()["content_stripped"] == 4
    assert retention.retention_apply()["content_stripped"] == 3
    assert code_audit_purge(batch=2, max_batches=1) == 0


def test_outbox_cleanup_days(capsys):
    email(Status.SENT, 10)
    email(Status.BOUNCED, 10)
    email(Status.FAILED, 10)
    kept = email(Status.SENT, 2)
    call_command("outbox_cleanup", "--days", "7", "--batch-size", "1")
    out = capsys.readouterr().out
    assert "outbox deleted: 2" in out
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {Status.FAILED, Status.SENT}
    assert OutboundEmail.objects.filter(status=Status.SENT).get() == kept


@pytest.mark.parametrize("args", [["--days", "-1"], ["--days", "x"], ["--batch-size", "0"]])
def test_outbox_cleanup_refuses_bad_input(args):
    from django.core.management.base import CommandError

    with pytest.raises((CommandError, SystemExit)):
        call_command("outbox_cleanup", *args)
