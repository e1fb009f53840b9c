"""The delivery dashboard's numbers against rows the test creates, and the page as staff see it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import tasks
from notifications.models import BounceReasonHour, DeliveryHour, EmailEvent, OutboundEmail
from notifications.ops import bounces, dashboard, rollup
from notifications.outbox import delivery
from notifications.outbox.outcomes import Outcomes

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
    # 10, 20 and 60 s fall in the buckets up to 10, 30 and 60 s. As histogram_quantile reads them:
    # p50 (rank 1.5) is halfway through (10, 30], p95 (rank 2.85) 85% through (30, 60]. The exact
    # percentiles (20 and 56) lie in those same buckets.
    assert latency["count"] == 3
    assert latency["p50"] == pytest.approx(20) and not latency["p50_over"]
    assert latency["p95"] == pytest.approx(55.5) and not latency["p95_over"]
    providers = {p["provider"]: p for p in dashboard.providers()}
    assert providers["transport-ses"] == {"provider": "transport-ses", "accepted": 2, "failed": 0, "failovers": 0}
    assert providers["transport-mailgun"] == {
        "provider": "transport-mailgun",
        "accepted": 1,
        "failed": 1,
        "failovers": 1,
    }
    assert dashboard.bounce_reasons() == [{"kind": "hard", "reason": "550 5.1.1 no such user", "n": 2}]
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
    assert "hard · 550 5.1.1 no such user" in body
    assert '<tr data-provider="transport-mailgun"><td>transport-mailgun</td><td>1</td><td>1</td><td>1</td></tr>' in body
    assert admin_client.get("/admin/delivery/?window=7d").content.decode().count("sent (4)") == 1
    assert admin_client.get("/admin/delivery/?window=<script>").status_code == 200


def test_the_page_is_for_staff_with_the_outbox_permission(client, django_user_model):
    assert client.get("/admin/delivery/").status_code == 302  # to the admin's log-in
    staff = django_user_model.objects.create_user("sam", "sam@example.com", "x", is_staff=True)
    client.force_login(staff)
    assert client.get("/admin/delivery/").status_code == 403


# ------------------------------------------------------------------------------------------------
# The hourly sums (ops/rollup.py): the same numbers as counted live, each hour once.
# ------------------------------------------------------------------------------------------------
def sums():
    """{(hour, provider, outcome): n} of DeliveryHour, without the hours' marks and the latency
    buckets (test_latency_comes_from_the_hourly_sums... has those)."""
    rows = DeliveryHour.objects.exclude(outcome=rollup.SUMMED).exclude(outcome__startswith="lat_le_").order_by()
    return {(r.hour, r.provider, r.outcome): r.n for r in rows}


def series_of(hours, name):
    return {hour: counts[name] for hour, counts in hours.items() if counts[name]}


def test_the_rollup_sums_each_closed_hour_as_counted_live(mail_story):
    live_week = dashboard.outcomes_per_hour(span=timedelta(days=7))
    live_providers = dashboard.providers()
    assert DeliveryHour.objects.count() == 0
    now = timezone.now()
    rollup.delivery_rollup(now=now)
    marks = dict(DeliveryHour.objects.filter(outcome=rollup.SUMMED).values_list("hour", "through"))
    # Every hour of the last week, whole, up to the current one summed as far as it has gone.
    through = now - timedelta(seconds=120)
    first, last = rollup.hour_of(now - rollup.KEEP), rollup.hour_of(through)
    assert last - first >= timedelta(days=7)
    assert set(marks) == {first + timedelta(hours=n) for n in range((last - first) // timedelta(hours=1) + 1)}
    assert set(marks.values()) == {through}
    assert dashboard.outcomes_per_hour(span=timedelta(days=7)) == live_week
    assert dashboard.providers() == live_providers
    # The story's rows are all in hours that are over: the page's numbers now come from the sums.
    delivered = mail_story["sent"][0]
    assert sums()[rollup.hour_of(delivered.sent_at), "transport-ses", "sent"] == 1
    assert sums()[rollup.hour_of(mail_story["sent"][2].sent_at), "transport-mailgun", "failover"] == 1
    assert sum(n for (_h, _p, outcome), n in sums().items() if outcome == "bounced") == 2
    # Summing again changes nothing: the sums replace, they never add.
    before = sums()
    rollup.delivery_rollup()
    assert sums() == before


def sent_at(moment, provider="transport"):
    return OutboundEmail.objects.create(
        status=Status.SENT,
        from_email="site@example.com",
        recipients="ann@example.com",
        subject="s",
        created_at=moment - timedelta(seconds=1),
        sent_at=moment,
        provider=provider,
    )


def test_the_hour_boundary_and_the_current_hour(db):
    now = timezone.now()
    hour = rollup.hour_of(now) - timedelta(hours=3)
    sent_at(hour - timedelta(microseconds=1))  # the hour before
    sent_at(hour)  # the first instant of the hour
    sent_at(hour + timedelta(hours=1) - timedelta(microseconds=1))  # its last
    sent_at(hour + timedelta(hours=1))  # the next hour's first
    sent_at(now - timedelta(microseconds=1))  # the current hour: never summed
    rollup.delivery_rollup(now=now)
    assert sums() == {
        (hour - timedelta(hours=1), "transport", "sent"): 1,
        (hour, "transport", "sent"): 2,
        (hour + timedelta(hours=1), "transport", "sent"): 1,
    }
    day = dashboard.outcomes_per_hour(span=timedelta(hours=24), now=now)
    assert series_of(day, "sent") == {
        hour - timedelta(hours=1): 1,
        hour: 2,
        hour + timedelta(hours=1): 1,
        rollup.hour_of(now): 1,  # after the sums' moment: counted live
    }


def test_the_current_hour_is_summed_as_far_as_it_has_gone_and_the_rest_counted_live(db, settings):
    settings.NOTIFICATIONS_ROLLUP_GRACE = 120
    moment = rollup.hour_of(timezone.now()) - timedelta(minutes=90)  # the half of an hour that is over
    sent_at(moment - timedelta(minutes=10))
    sent_at(moment - timedelta(seconds=121))  # before the sums' moment
    sent_at(moment - timedelta(seconds=120))  # at it: live
    sent_at(moment - timedelta(seconds=1))
    sent_at(moment + timedelta(minutes=10))  # after `moment`
    hour = rollup.hour_of(moment)
    rollup.delivery_rollup(now=moment)
    assert sums() == {(hour, "transport", "sent"): 2}
    assert DeliveryHour.objects.get(hour=hour, outcome=rollup.SUMMED).through == moment - timedelta(seconds=120)
    assert series_of(dashboard.outcomes_per_hour(span=timedelta(hours=24), now=moment), "sent") == {hour: 4}
    later = moment + timedelta(minutes=40)  # the hour is over
    rollup.delivery_rollup(now=later)
    assert sums() == {(hour, "transport", "sent"): 5}
    assert series_of(dashboard.outcomes_per_hour(span=timedelta(hours=24), now=later), "sent") == {hour: 5}


def test_an_hour_is_whole_once_its_grace_is_over(db, settings):
    settings.NOTIFICATIONS_ROLLUP_GRACE = 120
    current = rollup.hour_of(timezone.now())
    before = current - timedelta(hours=1)
    rollup.delivery_rollup(now=current + timedelta(seconds=119))
    assert DeliveryHour.objects.get(hour=before, outcome=rollup.SUMMED).through == current - timedelta(seconds=1)
    assert not DeliveryHour.objects.filter(hour=current).exists()
    rollup.delivery_rollup(now=current + timedelta(seconds=121))
    assert DeliveryHour.objects.get(hour=before, outcome=rollup.SUMMED).through == current + timedelta(seconds=1)
    assert DeliveryHour.objects.filter(hour=current, outcome=rollup.SUMMED).exists()


def test_a_late_event_or_outcome_sums_its_hour_again(mail_story):
    rollup.delivery_rollup()
    email = mail_story["sent"][0]  # delivered, sent two hours ago: its hour is summed
    hour = rollup.hour_of(email.sent_at)
    event(email, "bounced", ago=timezone.now() - email.sent_at - timedelta(seconds=5), description="late")
    late = row(Status.SENT, created_ago=timezone.now() - email.sent_at, sent_after=timedelta(seconds=1))
    assert rollup.delivery_rollup()["hours"] >= 1
    summed = sums()
    bounced = EmailEvent.objects.filter(event_type="bounced")
    assert summed[hour, "Mailgun", "bounced"] == sum(1 for e in bounced if rollup.hour_of(e.occurred_at) == hour)
    assert summed[rollup.hour_of(late.sent_at), "transport", "sent"] == 1
    assert summed[hour, "transport-ses", "sent"] == 1
    week = dashboard.outcomes_per_hour(span=timedelta(days=7))
    assert sum(counts["bounced"] for counts in week.values()) == 3
    assert sum(counts["sent"] for counts in week.values()) == 5


def test_a_retried_and_redelivered_outcome_counts_once(db):
    email = OutboundEmail.objects.create(
        from_email="site@example.com", recipients="ann@example.com", subject="s", next_attempt_at=timezone.now()
    )
    # First attempt: a transient error puts the row back in the queue.
    rows, lease = delivery.claim_due("urgent", limit=10)
    first = Outcomes(lease)
    first.add(rows[0], Status.QUEUED, last_error="421 try later", next_attempt_at=timezone.now())
    assert first.flush() == 1
    # Second attempt: sent. The same outcome written again (a redelivered task under the same
    # claim) is fenced off, and a stale claim's outcome too.
    rows, lease = delivery.claim_due("urgent", limit=10)
    sent = {"sent_at": timezone.now() - timedelta(hours=2), "provider": "transport", "provider_message_id": "m-1"}
    second = Outcomes(lease)
    second.add(rows[0], Status.SENT, **sent)
    assert second.flush() == 1
    again = Outcomes(lease)
    again.add(rows[0], Status.SENT, **sent)
    assert again.flush() == 0
    stale = Outcomes(lease - timedelta(seconds=1))
    stale.add(rows[0], Status.FAILED, last_error="x")
    assert stale.flush() == 0
    email.refresh_from_db()
    assert email.status == Status.SENT and email.attempts == 2
    rollup.delivery_rollup()
    rollup.delivery_rollup()
    summed = sums()
    assert summed == {(rollup.hour_of(email.sent_at), "transport", "sent"): 1}
    week = dashboard.outcomes_per_hour(span=timedelta(days=7))
    assert {name: sum(c[name] for c in week.values()) for name in dashboard.SERIES} == {
        "sent": 1,
        "delivered": 0,
        "bounced": 0,
        "complained": 0,
        "failed": 0,
        "suppressed": 0,
    }


def test_the_rollup_drops_sums_older_than_a_week(db):
    old = rollup.hour_of(timezone.now()) - timedelta(days=9)
    DeliveryHour.objects.create(hour=old, provider="transport", outcome="sent", n=3, through=timezone.now())
    assert rollup.delivery_rollup()["pruned"] == 1
    assert not DeliveryHour.objects.filter(hour__lt=timezone.now() - timedelta(days=8)).exists()


def test_beat_runs_the_rollup_and_the_page_reads_its_sums(mail_story, admin_client, settings):
    assert settings.CELERY_BEAT_SCHEDULE["ops-delivery-rollup"]["task"] == "notifications.tasks.delivery_rollup"
    assert tasks.delivery_rollup.run()["hours"] >= 168
    body = admin_client.get("/admin/delivery/").content.decode()
    assert "sent (3)" in body and "bounced (2)" in body and "failed (1)" in body
    assert '<tr data-provider="transport-mailgun"><td>transport-mailgun</td><td>1</td><td>1</td><td>1</td></tr>' in body
    # The sums are what the page reads: a count changed in them shows.
    hour = rollup.hour_of(mail_story["sent"][0].sent_at)
    DeliveryHour.objects.filter(hour=hour, provider="transport-ses", outcome="sent").update(n=5)
    assert "sent (7)" in admin_client.get("/admin/delivery/").content.decode()


def test_an_hour_missing_from_the_sums_is_counted_live_and_the_others_once(mail_story):
    live_week = dashboard.outcomes_per_hour(span=timedelta(days=7))
    live_providers = dashboard.providers()
    rollup.delivery_rollup()
    # An hour whose sums are gone (say, deleted by hand): from it on the page counts live, and
    # uses the sums only of the hours that are whole, so none is counted twice.
    hole = rollup.hour_of(mail_story["sent"][2].sent_at)
    DeliveryHour.objects.filter(hour=hole).delete()
    assert dashboard.outcomes_per_hour(span=timedelta(days=7)) == live_week
    assert dashboard.providers() == live_providers


# ------------------------------------------------------------------------------------------------
# The top bounce reasons: normalised (no addresses), summed per hour by the same rollup.
# ------------------------------------------------------------------------------------------------
def test_a_bounce_reason_keeps_the_failure_and_drops_the_recipient():
    assert bounces.reason_of(description="550 5.1.1 <Ann.Lee+news@Example.COM>: Recipient address rejected") == (
        "hard",
        "550 5.1.1 <address>: Recipient address rejected",
    )
    gmail = (
        "550-5.1.1 The account does not exist.\n550 5.1.1 "
        "https://support.google.com/mail/?p=NoSuchUser d2e1a72fcca58-7297ab3d0c2si1234567b3a.123 - gsmtp"
    )
    kind, reason = bounces.reason_of(description=gmail)
    assert kind == "hard"
    assert reason == (
        "550-5.1.1 The account does not exist. 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser <id>.123 - gsmtp"
    )
    # The kind: the provider's, else the class of the enhanced status code (RFC 3463), else unknown.
    assert bounces.reason_of(description="452 4.2.2 queue 1234567 for bob@example.org", bounce="") == (
        "soft",
        "452 4.2.2 queue <number> for <address>",
    )
    assert bounces.reason_of(description="550 5.1.1 gone", bounce="soft") == ("soft", "550 5.1.1 gone")
    assert bounces.reason_of(description="", mta_response="host said: mailbox full") == ("", "host said: mailbox full")
    long = bounces.reason_of(description="x " * 200)[1]
    assert len(long) == bounces.REASON_LENGTH and long.endswith("…")


def bounce(moment, description, *, recipient="ann@example.com", kind="", received=None):
    return EmailEvent.objects.create(
        provider="Mailgun",
        event_id=f"b-{moment.isoformat()}-{recipient}-{EmailEvent.objects.count()}",
        event_type="bounced",
        recipient=recipient,
        bounce=kind,
        occurred_at=moment,
        received_at=received or timezone.now(),
        description=description,
    )


def reason_sums():
    """{(hour, kind, reason): n} of BounceReasonHour."""
    return {(r.hour, r.kind, r.reason): r.n for r in BounceReasonHour.objects.order_by()}


def implied(events):
    """What the events imply for the dashboard: their normalised reasons, counted."""
    found = {}
    for e in events:
        key = bounces.reason_of(description=e.description, mta_response=e.mta_response, bounce=e.bounce)
        found[key] = found.get(key, 0) + 1
    return found


def test_the_bounce_reasons_come_from_the_sums_without_addresses(db):
    now = timezone.now()
    events = [
        bounce(now - timedelta(hours=h), f"550 5.1.1 <{name}@example.com>: user unknown")
        for h, name in [(1, "ann"), (5, "bob"), (30, "cy"), (100, "dee")]
    ]
    events += [bounce(now - timedelta(hours=h), "452 4.2.2 mailbox full", kind="soft") for h in (2, 3)]
    events.append(bounce(now - timedelta(hours=50), "554 5.7.1 rejected as spam, id 987654321"))
    events.append(bounce(now - timedelta(minutes=1), "550 5.1.1 <eve@example.net>: user unknown"))  # live
    bounce(now - timedelta(days=8), "550 5.1.1 <old@example.com>: user unknown")  # outside the week
    EmailEvent.objects.create(provider="Mailgun", event_id="d", event_type="delivered", occurred_at=now)
    live = dashboard.bounce_reasons(now=now)
    assert live == [
        {"kind": "hard", "reason": "550 5.1.1 <address>: user unknown", "n": 5},
        {"kind": "soft", "reason": "452 4.2.2 mailbox full", "n": 2},
        {"kind": "hard", "reason": "554 5.7.1 rejected as spam, id <number>", "n": 1},
    ]
    assert {(row["kind"], row["reason"]): row["n"] for row in live} == implied(events)
    rollup.delivery_rollup(now=now)
    assert not any("@" in reason or "987654321" in reason for _hour, _kind, reason in reason_sums())
    assert sum(reason_sums().values()) == len(events) - 1  # the last minute's is after the sums' moment
    assert dashboard.bounce_reasons(now=now) == live
    assert dashboard.bounce_reasons(now=now, limit=1) == live[:1]


def test_the_page_shows_the_normalised_reasons(db, admin_client):
    now = timezone.now()
    bounce(now - timedelta(hours=2), "550 5.1.1 <ann@example.com>: user unknown")
    bounce(now - timedelta(hours=3), "550 5.1.1 <bob@example.com>: user unknown")
    bounce(now - timedelta(hours=3), "")
    rollup.delivery_rollup(now=now)
    body = admin_client.get("/admin/delivery/").content.decode()
    assert "hard · 550 5.1.1 &lt;address&gt;: user unknown</text>" in body
    assert "(no description)</text>" in body
    assert "example.com" not in body.split("<svg")[-2]  # the reasons' chart


def test_the_bounce_reasons_hour_boundary(db):
    now = timezone.now()
    hour = rollup.hour_of(now) - timedelta(hours=3)
    for moment in (
        hour - timedelta(microseconds=1),  # the hour before
        hour,  # the first instant of the hour
        hour + timedelta(hours=1) - timedelta(microseconds=1),  # its last
        hour + timedelta(hours=1),  # the next hour's first
        now - timedelta(microseconds=1),  # the current hour, after the sums' moment: live
    ):
        bounce(moment, "550 5.1.1 no such user")
    rollup.delivery_rollup(now=now)
    reason = ("hard", "550 5.1.1 no such user")
    assert reason_sums() == {
        (hour - timedelta(hours=1), *reason): 1,
        (hour, *reason): 2,
        (hour + timedelta(hours=1), *reason): 1,
    }
    assert dashboard.bounce_reasons(now=now) == [{"kind": "hard", "reason": "550 5.1.1 no such user", "n": 5}]
    # The window's first hour is the one after the hour a week ago began, as the charts' is.
    first = rollup.hour_of(now - timedelta(days=7)) + timedelta(hours=1)
    bounce(first, "550 5.1.1 no such user")
    bounce(first - timedelta(microseconds=1), "550 5.1.1 no such user")
    rollup.delivery_rollup(now=now)
    assert dashboard.bounce_reasons(now=now)[0]["n"] == 6


def test_the_bounce_reasons_of_the_last_minutes_are_counted_live_once(db, settings):
    settings.NOTIFICATIONS_ROLLUP_GRACE = 120
    moment = rollup.hour_of(timezone.now()) - timedelta(minutes=90)  # the half of an hour that is over
    hour = rollup.hour_of(moment)
    bounce(moment - timedelta(minutes=10), "550 5.1.1 <a@example.com>: no such user")
    bounce(moment - timedelta(seconds=121), "550 5.1.1 <b@example.com>: no such user")  # before the sums' moment
    bounce(moment - timedelta(seconds=120), "550 5.1.1 <c@example.com>: no such user")  # at it: live
    bounce(moment - timedelta(seconds=1), "452 4.2.2 mailbox full")
    bounce(moment + timedelta(minutes=10), "550 5.1.1 <d@example.com>: no such user")  # after `moment`
    rollup.delivery_rollup(now=moment)
    hard, soft = ("hard", "550 5.1.1 <address>: no such user"), ("soft", "452 4.2.2 mailbox full")
    assert reason_sums() == {(hour, *hard): 2}
    assert dashboard.bounce_reasons(now=moment) == [
        {"kind": "hard", "reason": hard[1], "n": 3},
        {"kind": "soft", "reason": soft[1], "n": 1},
    ]
    later = moment + timedelta(minutes=40)  # the hour is over
    rollup.delivery_rollup(now=later)
    assert reason_sums() == {(hour, *hard): 4, (hour, *soft): 1}
    assert dashboard.bounce_reasons(now=later) == [
        {"kind": "hard", "reason": hard[1], "n": 4},
        {"kind": "soft", "reason": soft[1], "n": 1},
    ]
    # An hour whose sums are gone is counted live, and the others once.
    DeliveryHour.objects.filter(hour=hour).delete()
    assert dashboard.bounce_reasons(now=later) == [
        {"kind": "hard", "reason": hard[1], "n": 4},
        {"kind": "soft", "reason": soft[1], "n": 1},
    ]


def test_a_late_bounce_sums_its_hour_again(db):
    now = timezone.now()
    hour = rollup.hour_of(now) - timedelta(hours=5)
    bounce(hour + timedelta(minutes=5), "550 5.1.1 <ann@example.com>: no such user")
    rollup.delivery_rollup(now=now)
    reason = ("hard", "550 5.1.1 <address>: no such user")
    assert reason_sums() == {(hour, *reason): 1}
    # Received now, it happened in an hour summed whole: the next run sums that hour again.
    later = now + timedelta(minutes=5)
    bounce(hour + timedelta(minutes=6), "550 5.1.1 <bob@example.com>: no such user", received=later)
    bounce(hour + timedelta(minutes=7), "421 4.7.0 try again later", kind="soft", received=later)
    assert rollup.delivery_rollup(now=later + timedelta(seconds=1))["hours"] >= 1
    assert reason_sums() == {(hour, *reason): 2, (hour, "soft", "421 4.7.0 try again later"): 1}
    rollup.delivery_rollup(now=later + timedelta(seconds=2))  # again: replaced, never added
    assert reason_sums() == {(hour, *reason): 2, (hour, "soft", "421 4.7.0 try again later"): 1}
    expected = [
        {"kind": "hard", "reason": reason[1], "n": 2},
        {"kind": "soft", "reason": "421 4.7.0 try again later", "n": 1},
    ]
    assert dashboard.bounce_reasons(now=later) == expected
    # An hour whose sums are gone (deleted by hand) is counted live; the whole hours after it, from
    # their sums only.
    bounce(hour + timedelta(hours=2), "554 5.7.1 blocked", received=later)
    rollup.delivery_rollup(now=later + timedelta(seconds=3))
    DeliveryHour.objects.filter(hour=hour).delete()
    blocked = {"kind": "hard", "reason": "554 5.7.1 blocked", "n": 1}
    assert dashboard.bounce_reasons(now=later) == [expected[0], blocked, expected[1]]  # ties: by kind, reason


def test_the_rollup_drops_bounce_reasons_older_than_a_week(db):
    old = rollup.hour_of(timezone.now()) - timedelta(days=9)
    BounceReasonHour.objects.create(hour=old, kind="hard", reason="550 5.1.1 no such user", n=3)
    assert rollup.delivery_rollup()["pruned"] == 1
    assert not BounceReasonHour.objects.exists()


def test_latency_comes_from_the_hourly_sums_and_says_when_it_is_past_the_last_bucket(db):
    """Summed by the rollup, the same percentiles; a wait past the last bound is reported as
    at least that bound, marked `over`, not as a made-up number."""
    for seconds in (0.2, 0.4, 3, 4000, 5000):
        row(Status.SENT, created_ago=timedelta(hours=2), sent_after=timedelta(seconds=seconds))
    live = dashboard.latency()
    rollup.delivery_rollup()
    assert DeliveryHour.objects.filter(outcome="lat_le_0.5").exists()
    assert dashboard.latency() == live
    # Ranks 2.5 and 4.75 of 5: p50 halfway through (2, 5]; p95 past the last bound, 3,600 s.
    assert live["count"] == 5
    assert live["p50"] == pytest.approx(3.5) and not live["p50_over"]
    assert live["p95"] == 3600 and live["p95_over"]
    earlier = dashboard.latency(now=timezone.now() - timedelta(days=2))  # a day with nothing sent
    assert (earlier["count"], earlier["p50"], earlier["p95"]) == (0, None, None)
