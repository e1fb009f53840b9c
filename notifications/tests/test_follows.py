"""Follows and coalesced follower alerts, in process, with time stepped by time-machine.

A popular user's case is here too: 10,000 follows in one minute make at most two emails, and a
digest costs a bounded number of queries (speed is for the benchmark suite, not these tests).

The web side runs follow_create / follow_delete and their on-commit callbacks; the `broker`
fixture stands in for Celery only to hold tasks until their eta, and `broker.run_due()` plays the
worker: it runs follower_alerts_process for every task that is due. The emails go through the real
outbox and are read with the `outbox` fixture. The real worker processes are in
test_follows_workers.py.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test.signals import template_rendered
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from notifications.follows import services as follows
from notifications.models import Follow, FollowerAlertItem, FollowerAlertState, NotificationPreference
from notifications.outbox import delivery

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


class Broker:
    """Tasks the services enqueued: (eta, recipient_id). run_due() runs those due, as a worker."""

    def __init__(self, capture):
        self.capture = capture
        self.tasks = []
        self.runs = 0

    def enqueue(self, recipient_id, eta=None):
        self.tasks.append((eta, recipient_id))

    def due(self):
        now = timezone.now()
        return [task for task in self.tasks if task[0] is None or task[0] <= now]

    def run_due(self):
        for task in self.due():
            self.tasks.remove(task)
            self.runs += 1
            with self.capture(execute=True):
                follows.follower_alerts_process(recipient_id=task[1])


@pytest.fixture
def broker(monkeypatch, django_capture_on_commit_callbacks):
    broker = Broker(django_capture_on_commit_callbacks)
    monkeypatch.setattr(follows, "_enqueue", broker.enqueue)
    return broker


@pytest.fixture
def web(django_capture_on_commit_callbacks):
    """follow/unfollow as a request does: the transaction commits, then its callbacks run."""

    class Web:
        def follow(self, follower, followed):
            with django_capture_on_commit_callbacks(execute=True):
                return follows.follow_create(follower=follower, followed=followed)

        def unfollow(self, follower, followed):
            with django_capture_on_commit_callbacks(execute=True):
                return follows.follow_delete(follower=follower, followed=followed)

    return Web()


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def delivered(outbox, address):
    """Deliver what is queued, oldest first, and return every email `address` got, in order."""
    for pk in outbox.rows(status="queued").values_list("pk", flat=True):
        delivery.deliver_one(pk)
    return [message for message in mail.outbox if address in message.recipients()]


def to_bob(outbox):
    return delivered(outbox, "bob@example.com")


# ------------------------------------------------------------------------------------------------
# Follows
# ------------------------------------------------------------------------------------------------
def test_follow_records_the_pair_and_schedules_after_commit(
    user_factory, bob, django_capture_on_commit_callbacks, broker
):
    alice = user_factory("alice")
    with django_capture_on_commit_callbacks() as callbacks:
        follow, created = follows.follow_create(follower=alice, followed=bob)
    assert created and follow.follower == alice and follow.followed == bob
    assert broker.tasks == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert broker.tasks == [(None, bob.pk)]
    assert FollowerAlertItem.objects.get().alerted_at is None


def test_following_twice_is_a_no_op(user_factory, bob, web, broker):
    alice = user_factory("alice")
    web.follow(alice, bob)
    follow, created = web.follow(alice, bob)
    assert not created and follow.follower == alice
    assert Follow.objects.count() == 1 and FollowerAlertItem.objects.count() == 1
    assert len(broker.tasks) == 1


def test_follow_refuses_yourself_and_unconfirmed_followers(user_factory, bob, web):
    with pytest.raises(follows.FollowError, match="yourself"):
        web.follow(bob, bob)
    with pytest.raises(follows.FollowError, match="Confirm your email"):
        web.follow(user_factory("carol", confirmed=False), bob)
    assert not Follow.objects.exists() and not FollowerAlertItem.objects.exists()


# ------------------------------------------------------------------------------------------------
# The alert and its email
# ------------------------------------------------------------------------------------------------
def test_first_follow_after_quiet_period_is_sent_promptly(user_factory, bob, web, broker, outbox, clock, settings):
    settings.SITE_URL = "https://mail.example.org"
    alice = user_factory("alice", first_name="Alice", last_name="Liddell")
    web.follow(alice, bob)
    broker.run_due()

    (message,) = to_bob(outbox)
    assert message.subject == "Alice Liddell is now following you"
    assert message.to == ["bob@example.com"]
    assert "Alice Liddell is now following you." in message.body
    assert "https://mail.example.org/u/alice/" in message.body
    assert "https://mail.example.org/u/bob/followers/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert '<a href="https://mail.example.org/u/alice/"' in html and "Alice Liddell" in html
    token = follows.unsubscribe_token_make(user=bob)
    unsubscribe = f"https://mail.example.org/notifications/unsubscribe/{token}/"
    assert unsubscribe in message.body and unsubscribe in html
    assert message.extra_headers["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    row = outbox.rows().get()
    assert row.category == "bulk" and row.template == "follower_alert"
    state = FollowerAlertState.objects.get(recipient=bob)
    assert state.window_until == T0 + WINDOW and not state.digest_scheduled


def test_headers_survive_delivery_to_the_transport(user_factory, bob, web, broker, outbox):
    web.follow(user_factory("alice"), bob)
    broker.run_due()
    (message,) = to_bob(outbox)
    raw = message.message()
    assert raw["List-Unsubscribe"].startswith("<http") and raw["List-Unsubscribe"].endswith(">")
    assert raw["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_names_are_not_html_escaped_in_the_text_part(user_factory, bob, web, broker, outbox):
    web.follow(user_factory("o.neil", first_name="Tom & Jerry", last_name="O'Neil"), bob)
    broker.run_due()
    (message,) = to_bob(outbox)
    assert message.subject == "Tom & Jerry O'Neil is now following you"
    assert "Tom & Jerry O'Neil is now following you." in message.body
    assert "Tom &amp; Jerry O&#x27;Neil" in message.alternatives[0][0]


def test_rendered_in_the_recipients_language(user_factory, db, web, broker, outbox):
    recipient = user_factory("li", language="zh-hans")
    seen = []

    def record(sender, template, context, **kwargs):
        if template.name and template.name.startswith("email/follower_"):
            seen.append(translation.get_language())

    template_rendered.connect(record)
    try:
        with translation.override("en"):
            web.follow(user_factory("alice"), recipient)
            broker.run_due()
    finally:
        template_rendered.disconnect(record)
    assert seen and set(seen) == {"zh-hans"}
    assert len(delivered(outbox, "li@example.com")) == 1


# ------------------------------------------------------------------------------------------------
# Coalescing
# ------------------------------------------------------------------------------------------------
def test_a_digest_of_one_more_than_the_names_names_everyone(user_factory, bob, web, broker, outbox, clock):
    web.follow(user_factory("alice"), bob)
    broker.run_due()
    for minute, name in enumerate(["carol", "dave", "erin", "frank"], start=1):
        clock.move_to(T0 + timedelta(minutes=minute))
        web.follow(user_factory(name), bob)
        broker.run_due()
    clock.move_to(T0 + WINDOW)
    broker.run_due()
    _first, digest = to_bob(outbox)
    assert digest.subject == "carol, dave, erin and frank are now following you"  # not "and 1 other"
    assert "frank" in digest.body and "other" not in digest.body


def test_follows_inside_the_window_become_one_digest_when_it_closes(user_factory, bob, web, broker, outbox, clock):
    web.follow(user_factory("alice"), bob)
    broker.run_due()
    assert len(to_bob(outbox)) == 1

    for minute, name in enumerate(["carol", "dave", "erin", "frank", "grace"], start=1):
        clock.move_to(T0 + timedelta(minutes=minute))
        web.follow(user_factory(name), bob)
        broker.run_due()
    assert len(to_bob(outbox)) == 1  # nothing more inside the window
    # One digest task, due when the window closes, however many follows came in.
    assert broker.tasks == [(T0 + WINDOW, bob.pk)]
    assert FollowerAlertState.objects.get(recipient=bob).digest_scheduled

    clock.move_to(T0 + WINDOW)
    broker.run_due()
    first, digest = to_bob(outbox)
    assert digest.subject == "carol, dave, erin and 2 others are now following you"
    assert "https://" not in digest.subject
    assert "/u/bob/followers/" in digest.body and "/u/bob/followers/" in digest.alternatives[0][0]
    for name in ("carol", "dave", "erin"):
        assert f"/u/{name}/" in digest.body
    assert "frank" not in digest.body  # a handful named, the rest counted
    assert outbox.rows().last().template == "follower_digest"
    state = FollowerAlertState.objects.get(recipient=bob)
    assert state.window_until == T0 + 2 * WINDOW and not state.digest_scheduled and state.alerts_sent == 2


def test_a_digest_of_two_or_three_names_them_all(user_factory, bob, web, broker, outbox, clock):
    web.follow(user_factory("alice"), bob)
    broker.run_due()
    clock.shift(60)
    web.follow(user_factory("carol"), bob)
    web.follow(user_factory("dave"), bob)
    clock.move_to(T0 + WINDOW)
    broker.run_due()
    assert to_bob(outbox)[-1].subject == "carol and dave are now following you"


def test_after_a_quiet_window_the_next_follow_is_prompt_again(user_factory, bob, web, broker, outbox, clock):
    web.follow(user_factory("alice"), bob)
    broker.run_due()
    clock.move_to(T0 + WINDOW + timedelta(seconds=1))
    web.follow(user_factory("carol"), bob)
    broker.run_due()
    assert [m.subject for m in to_bob(outbox)] == [
        "alice is now following you",
        "carol is now following you",
    ]


def test_a_duplicate_process_task_sends_nothing_twice(user_factory, bob, web, broker, outbox, clock):
    web.follow(user_factory("alice"), bob)
    broker.run_due()
    clock.shift(60)
    web.follow(user_factory("carol"), bob)
    broker.run_due()
    clock.move_to(T0 + WINDOW)
    for _ in range(3):  # the eta task, the sweeper and a redelivery all arrive at the close
        follows.follower_alerts_process(recipient_id=bob.pk)
    assert len(to_bob(outbox)) == 2


# ------------------------------------------------------------------------------------------------
# Unfollow before send, and the refollow loop
# ------------------------------------------------------------------------------------------------
def test_unfollow_before_send_removes_the_follower(user_factory, bob, web, broker, outbox, clock):
    web.follow(user_factory("alice"), bob)
    broker.run_due()
    clock.shift(60)
    carol, dave = user_factory("carol"), user_factory("dave")
    web.follow(carol, bob)
    web.follow(dave, bob)
    broker.run_due()
    web.unfollow(carol, bob)
    clock.move_to(T0 + WINDOW)
    broker.run_due()
    assert [m.subject for m in to_bob(outbox)] == ["alice is now following you", "dave is now following you"]


def test_an_alert_left_with_nobody_is_not_sent(user_factory, bob, web, broker, outbox, clock):
    alice = user_factory("alice")
    web.follow(alice, bob)
    web.unfollow(alice, bob)
    broker.run_due()
    assert to_bob(outbox) == []
    # No alert went out, so no window opened: the next follow is prompt.
    assert FollowerAlertState.objects.get(recipient=bob).window_until is None


def test_a_digest_left_with_nobody_is_not_sent(user_factory, bob, web, broker, outbox, clock):
    web.follow(user_factory("alice"), bob)
    broker.run_due()
    clock.shift(60)
    carol = user_factory("carol")
    web.follow(carol, bob)
    broker.run_due()
    web.unfollow(carol, bob)
    clock.move_to(T0 + WINDOW)
    broker.run_due()
    assert len(to_bob(outbox)) == 1
    state = FollowerAlertState.objects.get(recipient=bob)
    assert state.window_until == T0 + WINDOW and not state.digest_scheduled


def test_follow_unfollow_follow_never_alerts_twice_within_a_day(user_factory, bob, web, broker, outbox, clock):
    alice = user_factory("alice")
    for hour in range(23):  # the loop, again and again, all day long
        clock.move_to(T0 + timedelta(hours=hour))
        web.follow(alice, bob)
        broker.run_due()
        web.unfollow(alice, bob)
        clock.shift(60)
        web.follow(alice, bob)
        broker.run_due()
        web.unfollow(alice, bob)
        clock.move_to(T0 + timedelta(hours=hour, minutes=30))
        broker.run_due()
    assert len(to_bob(outbox)) == 1

    clock.move_to(T0 + timedelta(hours=24, minutes=1))
    web.follow(alice, bob)
    broker.run_due()
    assert len(to_bob(outbox)) == 2  # a day later it is news again


def test_refollow_inside_the_window_before_send_is_one_alert(user_factory, bob, web, broker, outbox, clock):
    web.follow(user_factory("alice"), bob)
    broker.run_due()
    carol = user_factory("carol")
    clock.shift(60)
    web.follow(carol, bob)
    web.unfollow(carol, bob)
    web.follow(carol, bob)
    clock.move_to(T0 + WINDOW)
    broker.run_due()
    assert [m.subject for m in to_bob(outbox)][-1] == "carol is now following you"
    assert len(to_bob(outbox)) == 2


# ------------------------------------------------------------------------------------------------
# Who gets no alert
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "recipient_kwargs",
    [{"confirmed": False}, {"is_active": False}],
    ids=["unconfirmed", "inactive"],
)
def test_no_alert_to_unconfirmed_or_inactive_users(user_factory, db, web, broker, outbox, recipient_kwargs):
    recipient = user_factory("zoe", **recipient_kwargs)
    if recipient.is_active:
        web.follow(user_factory("alice"), recipient)
    else:
        with pytest.raises(follows.FollowError):
            web.follow(user_factory("alice"), recipient)
    broker.run_due()
    follows.follower_alerts_process(recipient_id=recipient.pk)
    assert delivered(outbox, "zoe@example.com") == []


def test_no_alert_to_a_user_who_turned_them_off(user_factory, bob, web, broker, outbox):
    follows.notification_preference_set(user=bob, follower_emails=False)
    web.follow(user_factory("alice"), bob)
    broker.run_due()
    follows.follower_alerts_process(recipient_id=bob.pk)
    assert to_bob(outbox) == []


def test_turning_alerts_off_drops_a_pending_digest(user_factory, bob, web, broker, outbox, clock):
    web.follow(user_factory("alice"), bob)
    broker.run_due()
    clock.shift(60)
    web.follow(user_factory("carol"), bob)
    broker.run_due()
    follows.notification_preference_set(user=bob, follower_emails=False)
    clock.move_to(T0 + WINDOW)
    broker.run_due()
    assert len(to_bob(outbox)) == 1


def test_recipient_unconfirmed_or_deactivated_after_the_follow_gets_nothing(user_factory, bob, web, broker, outbox):
    web.follow(user_factory("alice"), bob)
    bob.is_active = False
    bob.save()
    broker.run_due()
    assert to_bob(outbox) == []
    assert not FollowerAlertItem.objects.filter(alerted_at__isnull=True).exists()


def test_preference_is_created_lazily(bob):
    preference = follows.notification_preference_get(user=bob)
    assert preference._state.adding and preference.follower_emails is True
    assert not NotificationPreference.objects.exists()
    follows.notification_preference_set(user=bob, follower_emails=False)
    assert NotificationPreference.objects.get(user=bob).follower_emails is False


# ------------------------------------------------------------------------------------------------
# Robustness: the sweeper, follows removed behind the service's back
# ------------------------------------------------------------------------------------------------
def test_sweeper_picks_up_a_follow_whose_task_was_lost(user_factory, bob, web, broker, outbox, clock):
    web.follow(user_factory("alice"), bob)
    broker.tasks.clear()  # the broker lost it
    assert follows.follower_alerts_sweep() == 0  # not yet: it may still be on its way
    clock.shift(61)
    assert follows.follower_alerts_sweep() == 1
    broker.run_due()
    assert len(to_bob(outbox)) == 1
    assert follows.follower_alerts_sweep() == 0


def test_sweeper_leaves_a_scheduled_digest_alone_and_rescues_a_lost_one(user_factory, bob, web, broker, outbox, clock):
    web.follow(user_factory("alice"), bob)
    broker.run_due()
    clock.shift(60)
    web.follow(user_factory("carol"), bob)
    broker.run_due()
    clock.shift(120)
    assert follows.follower_alerts_sweep() == 0  # its digest is due at the window's end
    broker.tasks.clear()  # the worker holding the eta task died
    clock.move_to(T0 + WINDOW + timedelta(seconds=61))
    assert follows.follower_alerts_sweep() == 1
    broker.run_due()
    assert len(to_bob(outbox)) == 2


def test_a_follow_deleted_outside_the_service_is_not_announced(user_factory, bob, web, broker, outbox):
    alice = user_factory("alice")
    web.follow(alice, bob)
    Follow.objects.filter(follower=alice).delete()  # e.g. in the admin
    broker.run_due()
    assert to_bob(outbox) == []
    assert not FollowerAlertItem.objects.exists()


def test_prune_forgets_alerted_pairs_after_a_day(user_factory, bob, web, broker, clock):
    alice = user_factory("alice")
    web.follow(alice, bob)
    broker.run_due()
    assert follows.follower_alert_items_prune() == 0
    clock.shift(24 * 3600 + 1)
    assert follows.follower_alert_items_prune() == 1


# ------------------------------------------------------------------------------------------------
# Scale
# ------------------------------------------------------------------------------------------------
def make_fans(count):
    User = get_user_model()
    return User.objects.bulk_create(
        User(username=f"fan{i:05}", email=f"fan{i:05}@example.com", email_confirmed_at=T0, password="!")
        for i in range(count)
    )


def test_ten_thousand_follows_in_a_minute_make_two_emails(
    bob, web, broker, clock, outbox, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    fans = make_fans(10_000)
    # The first hundred one request at a time over ten seconds, workers keeping up...
    for i, fan in enumerate(fans[:100]):
        clock.move_to(T0 + timedelta(milliseconds=100 * i))
        web.follow(fan, bob)
        broker.run_due()
    # ...and the rest in bursts over the rest of the minute.
    rest = fans[100:]
    for burst, start in enumerate(range(0, len(rest), 990)):
        clock.move_to(T0 + timedelta(seconds=10 + 5 * burst))
        with django_capture_on_commit_callbacks(execute=True):
            follows.follow_create_many(followers=rest[start : start + 990], followed=bob)
        broker.run_due()
    assert timezone.now() < T0 + timedelta(minutes=1)
    assert Follow.objects.filter(followed=bob).count() == 10_000
    assert len(to_bob(outbox)) == 1  # the first follow, promptly
    # Three tasks in all: the prompt alert, the one that scheduled the digest, and the digest.
    assert broker.runs == 2 and broker.tasks == [(T0 + WINDOW, bob.pk)]

    clock.move_to(T0 + WINDOW)
    with django_assert_max_num_queries(12):
        follows.follower_alerts_process(recipient_id=bob.pk)
    prompt, digest = to_bob(outbox)
    assert prompt.subject == "fan00000 is now following you"
    assert digest.subject == "fan00001, fan00002, fan00003 and 9,996 others are now following you"
    assert "fan00004" not in digest.body and "/u/bob/followers/" in digest.body

    # Nothing is left over for later: no third email for this minute's follows.
    broker.run_due()
    clock.move_to(T0 + 4 * WINDOW)
    assert follows.follower_alerts_sweep() == 0
    follows.follower_alerts_process(recipient_id=bob.pk)
    assert len(to_bob(outbox)) == 2


def test_digest_queries_do_not_grow_with_followers(bob, clock, outbox):
    fans = make_fans(2_000)
    counts = []
    for size in (3, 2_000):
        clock.move_to(T0 + len(counts) * 2 * WINDOW)  # a closed window each time
        follows.follow_create_many(followers=fans[:size], followed=bob)
        with CaptureQueriesContext(connection) as queries:
            assert follows.follower_alerts_process(recipient_id=bob.pk) is not None
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert [m.subject for m in to_bob(outbox)] == [
        "fan00000, fan00001 and fan00002 are now following you",
        "fan00003, fan00004, fan00005 and 1,994 others are now following you",
    ]


def test_follow_create_many_applies_the_same_rules(user_factory, bob, django_capture_on_commit_callbacks, broker):
    alice, carol = user_factory("alice"), user_factory("carol")
    Follow.objects.create(follower=alice, followed=bob)
    newbie = user_factory("newbie", confirmed=False)
    with django_capture_on_commit_callbacks(execute=True):
        created = follows.follow_create_many(followers=[alice, carol, carol, bob, newbie], followed=bob)
    assert created == 1  # carol: alice already follows, bob is bob, newbie is unconfirmed
    assert set(Follow.objects.values_list("follower__username", flat=True)) == {"alice", "carol"}
    assert list(FollowerAlertItem.objects.values_list("follower__username", flat=True)) == ["carol"]
    assert broker.tasks == [(None, bob.pk)]
