"""The tracking receiver: forward-only status whatever the order, duplicates, late message ids,
and soft bounces that add up to a suppression."""

import itertools
import json
import random
import uuid
from datetime import timedelta

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from django.test import override_settings
from django.utils import timezone

from notifications.models import EmailEvent, OutboundEmail, Suppression
from notifications.outbox import delivery
from notifications.tracking.services import RANK
from notifications.tracking.suppression import suppression_lift

from .loopback import MAILGUN_SIGNING_KEY, WEBHOOK_SECRET, basic_auth, mailgun_event, mailgun_signed

pytestmark = pytest.mark.django_db

OUTCOMES = ["sent", "delivered", "rejected", "bounced", "complained"]


def sent_row(to="ann@example.com"):
    return OutboundEmail.objects.create(
        status="sent",
        from_email="noreply@example.com",
        recipients=to,
        subject="Hi",
        provider_message_id=f"<{uuid.uuid4().hex}@mg.example.com>",
    )


def fire(event_type, message_id, recipient="ann@example.com", event_id=None, esp_event=None):
    """Send Anymail's tracking signal, as its webhook views do."""
    event = AnymailTrackingEvent(
        event_type=event_type,
        message_id=message_id,
        recipient=recipient,
        event_id=event_id or uuid.uuid4().hex,
        timestamp=timezone.now(),
        esp_event=esp_event or {"event": event_type},
    )
    tracking.send(sender=object, event=event, esp_name="Mailgun")


def test_status_only_moves_forward_in_every_order():
    """Every ordered selection of outcomes (325 sequences): the status never goes back, and ends
    at the gravest outcome seen, whatever the order."""
    for size in range(1, len(OUTCOMES) + 1):
        for sequence in itertools.permutations(OUTCOMES, size):
            row = sent_row()
            seen = []
            for event_type in sequence:
                fire(event_type, row.provider_message_id)
                row.refresh_from_db()
                seen.append(RANK[row.status])
            assert seen == sorted(seen), sequence
            assert row.status == max(sequence, key=lambda s: RANK[s]), sequence


@pytest.mark.parametrize("seed", range(5))
def test_shuffled_and_duplicated_webhook_posts_through_mailgun(client, seed):
    """Signed posts, each sent twice and all shuffled: the second of each is a replay (406, so
    Mailgun stops retrying), and the first ones, in any order, leave one event row per post and
    the gravest status."""
    row = sent_row()
    posts = [
        mailgun_signed(mailgun_event("delivered", "ann@example.com", row.provider_message_id)),
        mailgun_signed(mailgun_event("failed", "ann@example.com", row.provider_message_id, severity="temporary")),
        mailgun_signed(mailgun_event("opened", "ann@example.com", row.provider_message_id)),
        mailgun_signed(mailgun_event("complained", "ann@example.com", row.provider_message_id)),
    ]
    order = posts * 2
    random.Random(seed).shuffle(order)
    with override_settings(
        ANYMAIL={"WEBHOOK_SECRET": WEBHOOK_SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY}
    ):
        seen = set()
        for body in order:
            response = client.post(
                "/anymail/mailgun/tracking/", json.dumps(body), content_type="application/json", **basic_auth()
            )
            token = body["signature"]["token"]
            assert response.status_code == (406 if token in seen else 200)
            seen.add(token)
    row.refresh_from_db()
    assert row.status == "complained"
    assert sorted(row.events.values_list("event_type", flat=True)) == ["complained", "deferred", "delivered", "opened"]
    assert Suppression.objects.get().reason == "complaint"


def test_events_before_the_message_id_is_recorded_are_attached_when_it_is():
    """The webhook can beat the worker: the event waits, unattached, and applies once sent."""
    from django.utils import timezone

    from notifications.outbox.outcomes import Outcomes

    lease = timezone.now()
    OutboundEmail.objects.create(
        status="sending", lease_until=lease, from_email="a@example.com", recipients="ann@example.com", subject="Hi"
    )
    fire("delivered", "<early@mg.example.com>")
    event = EmailEvent.objects.get()
    assert event.email is None

    row = OutboundEmail.objects.get()  # the worker now records the provider's answer
    outcomes = Outcomes(lease)
    delivery._sent(row, {}, _Message("<early@mg.example.com>"), "transport", outcomes, {}, {})
    outcomes.flush()

    event.refresh_from_db()
    row.refresh_from_db()
    assert event.email == row and row.status == "delivered"


class _Message:
    def __init__(self, message_id):
        from anymail.message import AnymailStatus

        self.anymail_status = AnymailStatus()
        self.anymail_status.message_id = message_id


def test_unknown_and_engagement_events_do_not_change_status():
    row = sent_row()
    for event_type in ("queued", "deferred", "opened", "clicked", "unknown"):
        fire(event_type, row.provider_message_id)
    row.refresh_from_db()
    assert row.status == "sent" and row.events.count() == 5


@override_settings(NOTIFICATIONS_SOFT_BOUNCE_LIMIT=3, NOTIFICATIONS_SOFT_BOUNCE_PERIOD=3600)
def test_soft_bounces_of_distinct_messages_within_the_period_suppress():
    rows = [sent_row(to="full@example.com") for _ in range(3)]
    # Mailgun reports each retry of one message: these count once.
    for _ in range(4):
        fire("deferred", rows[0].provider_message_id, recipient="full@example.com")
    fire("deferred", rows[1].provider_message_id, recipient="full@example.com")
    assert not Suppression.objects.exists()

    fire("deferred", rows[2].provider_message_id, recipient="Full@Example.com")
    suppression = Suppression.objects.get()
    assert (suppression.address, suppression.reason, suppression.soft_bounce_count) == (
        "full@example.com",
        "soft-bounces",
        3,
    )
    assert suppression.email == rows[2]


@override_settings(NOTIFICATIONS_SOFT_BOUNCE_LIMIT=2, NOTIFICATIONS_SOFT_BOUNCE_PERIOD=3600)
def test_soft_bounces_outside_the_period_or_before_a_lift_do_not_count():
    old, recent = sent_row(to="x@example.com"), sent_row(to="x@example.com")
    fire("deferred", old.provider_message_id, recipient="x@example.com")
    EmailEvent.objects.update(occurred_at=timezone.now() - timedelta(hours=2))
    fire("deferred", recent.provider_message_id, recipient="x@example.com")
    assert not Suppression.objects.exists()

    fire("deferred", sent_row(to="x@example.com").provider_message_id, recipient="x@example.com")
    suppression = Suppression.objects.get()
    assert suppression.active
    assert suppression_lift(suppression=suppression, reason="mailbox emptied")

    fire("deferred", sent_row(to="x@example.com").provider_message_id, recipient="x@example.com")
    suppression.refresh_from_db()
    assert not suppression.active  # one soft bounce since the lift
    fire("deferred", sent_row(to="x@example.com").provider_message_id, recipient="x@example.com")
    suppression.refresh_from_db()
    assert suppression.active and suppression.lifted_reason == ""


def test_a_complaint_outranks_a_bounce_as_the_reason():
    row = sent_row(to="y@example.com")
    fire(
        "bounced",
        row.provider_message_id,
        recipient="y@example.com",
        esp_event={"event-data": {"severity": "permanent"}},
    )
    fire("complained", row.provider_message_id, recipient="y@example.com")
    fire(
        "bounced",
        row.provider_message_id,
        recipient="y@example.com",
        esp_event={"event-data": {"severity": "permanent"}},
    )
    suppression = Suppression.objects.get()
    assert suppression.reason == "complaint"
    assert suppression.first_event.event_type == "bounced" and suppression.last_event.event_type == "bounced"


def test_mailgun_giving_up_on_a_temporary_failure_is_a_soft_bounce():
    row = sent_row(to="slow@example.com")
    fire("bounced", row.provider_message_id, recipient="slow@example.com", esp_event={"event-data": {"reason": "old"}})
    assert EmailEvent.objects.get().bounce == "soft"
    row.refresh_from_db()
    assert row.status == "bounced" and not Suppression.objects.exists()
