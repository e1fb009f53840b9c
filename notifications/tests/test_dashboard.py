"""The delivery dashboard's numbers against rows the test creates, and the page as staff see it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import EmailEvent, OutboundEmail
from notifications.ops import dashboard

Status = OutboundEmail.Status
pytestmark = pytest.mark.django_db


def row(status, *, created_ago, sent_after=None, provider="transport", **fields):
    now = timezone.now()
    created = now - created_ago
    email = OutboundEmail.objects.create(
        status=status,
        from_email="site@example.com",
        recipients="ann@example.com",
        subject="s",
        created_at=created,
        sent_at=created + sent_after if sent_after is not None else None,
        provider=provider,
        **fields,
    )
    return email


def event(email, event_type, *, ago, description=""):
    return EmailEvent.objects.create(
        email=email,
        provider="Mailgun",
        event_id=f"{event_type}-{email.pk}-{ago}",
        event_type=event_type,
        recipient="ann@example.com",
        message_id=f"m{email.pk}",
        occurred_at=timezone.now() - ago,
        description=description,
    )


@pytest.fixture
def mail_story(postgres):
    hour = timedelta(hours=1)
    sent = [
        row(Status.DELIVERED, created_ago=2 * hour, sent_after=timedelta(seconds=10), provider="transport-ses"),
        row(Status.BOUNCED, created_ago=3 * hour, sent_after=timedelta(seconds=20), provider="transport-ses"),
        row(
            Status.SENT,
            created_ago=5 * hour,
            sent_after=timedelta(seconds=60),
            provider="transport-mailgun",
            provider_since_attempt=3,
        ),
        row(Status.SENT, created_ago=3 * 24 * hour, sent_after=timedelta(seconds=5)),  # outside 24 h
    ]
    row(Status.FAILED, created_ago=hour, provider="transport-mailgun")
    row(Status.SUPPRESSED, created_ago=hour, provider="")
    oldest = row(Status.QUEUED, created_ago=timedelta(minutes=10), provider="")
    row(Status.QUEUED, created_ago=timedelta(minutes=1), provider="")
    event(sent[0], "delivered", ago=hour)
    event(sent[1], "bounced", ago=hour / 2, description="550 5.1.1 no such user")
    event(sent[2], "bounced", ago=2 * hour, description="550 5.1.1 no such user")
    event(sent[2], "complained", ago=hour)
    return {"sent": sent, "oldest": oldest}


def test_outcomes_per_hour_count_each_series(mail_story):
    day = dashboard.outcomes_per_hour(span=timedelta(hours=24))
    totals = {name: sum(counts[name] for counts in day.values()) for name in dashboard.SERIES}
    assert len(day) == 24
    assert totals == {"sent": 3, "delivered": 1, "bounced": 2, "complained": 1, "failed": 1, "suppressed": 1}
    week = dashboard.outcomes_per_hour(span=timedelta(days=7))
    assert len(week) == 168 and sum(counts["sent"] for counts in week.values()) == 4


def test_queue_depth_latency_providers_reasons_and_rate(mail_story):
    queue = dashboard.queue_depth()
    assert queue["depth"] == 2
    assert 600 <= queue["oldest_age"] < 660
    latency = dashboard.latency()
    # percentile_cont interpolates: of 10, 20 and 60 s, p50 is 20 and p95 is 20 + 0.9 * 40.
    assert latency["count"] == 3
    assert latency["p50"] == pytest.approx(20)
    assert latency["p95"] == pytest.approx(56)
    providers = {p["provider"]: p for p in dashboard.providers()}
    assert providers["transport-ses"] == {"provider": "transport-ses", "accepted": 2, "failed": 0, "failovers": 0}
    assert providers["transport-mailgun"] == {
        "provider": "transport-mailgun",
        "accepted": 1,
        "failed": 1,
        "failovers": 1,
    }
    assert dashboard.bounce_reasons() == [{"reason": "550 5.1.1 no such user", "n": 2}]
    assert dashboard.bounce_rate() == (1, 0)  # one bounce in the hour, nothing sent in it


def test_codes_requested_verified_and_locked(db):
    from accounts.models import EmailCaptcha

    now = timezone.now()
    for outcome in ["used", "used", "locked", "pending", "expired"]:
        EmailCaptcha.objects.create(email="a@example.com", purpose="login", expires_at=now, outcome=outcome)
    EmailCaptcha.objects.create(
        email="a@example.com", purpose="login", expires_at=now, outcome="used", created_at=now - timedelta(days=2)
    )
    assert dashboard.codes() == {"requested": 5, "verified": 2, "locked": 1}


def test_send_rate_against_the_limit(db, settings):
    settings.NOTIFICATIONS_MAX_RATE = 14.0
    for seconds in (5, 20, 50, 90):
        row(Status.SENT, created_ago=timedelta(seconds=seconds + 1), sent_after=timedelta(seconds=1))
    assert dashboard.send_rate() == {"rate": 3 / 60, "limit": 14.0}


def test_the_page_shows_the_numbers_to_staff(mail_story, admin_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(20):  # one per number, plus the session and the user
        response = admin_client.get("/admin/delivery/")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('<svg class="chart"') == 4
    assert "sent (3)" in body and "bounced (2)" in body and "failed (1)" in body
    assert "550 5.1.1 no such user" in body
    assert '<tr data-provider="transport-mailgun"><td>transport-mailgun</td><td>1</td><td>1</td><td>1</td></tr>' in body
    assert admin_client.get("/admin/delivery/?window=7d").content.decode().count("sent (4)") == 1
    assert admin_client.get("/admin/delivery/?window=<script>").status_code == 200


def test_the_page_is_for_staff_with_the_outbox_permission(client, django_user_model):
    assert client.get("/admin/delivery/").status_code == 302  # to the admin's log-in
    staff = django_user_model.objects.create_user("sam", "sam@example.com", "x", is_staff=True)
    client.force_login(staff)
    assert client.get("/admin/delivery/").status_code == 403
