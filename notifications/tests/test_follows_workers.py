"""Follower alerts on the real path: two celery worker processes on Redis and PostgreSQL, SMTP.

Two workers are made to close the same window at the same moment: both wait on the recipient's
state row while the test holds it, then race for it; exactly one digest goes out.
"""

from django.db import connection, transaction
from django.utils import timezone

from notifications import tasks
from notifications.follows import services as follows
from notifications.models import FollowerAlertState, OutboundEmail

from .helpers import broker_idle, wait_until

WINDOW = 8  # seconds, for the workers and for this process
TIMEOUT = 60.0


def lock_waiters():
    """Database sessions (the workers') now waiting for a row lock."""
    with connection.cursor() as cursor:
        # Inside a transaction PostgreSQL keeps showing its first snapshot of the activity view.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def test_two_workers_closing_the_same_window_send_one_digest(
    user_factory, worker_factory, smtp_server, redis_client, settings
):
    settings.NOTIFICATIONS_FOLLOW_WINDOW = WINDOW
    for _ in range(2):
        worker_factory(smtp_url=smtp_server.url, NOTIFICATIONS_FOLLOW_WINDOW=WINDOW)
    bob = user_factory("bob")
    fans = [user_factory(name) for name in ("alice", "carol", "dave", "erin", "frank")]

    follows.follow_create(follower=fans[0], followed=bob)  # commits; its task goes to Redis
    state = wait_until(
        lambda: FollowerAlertState.objects.filter(recipient=bob, window_until__isnull=False).first(),
        "the prompt alert to open a window",
    )
    for fan in fans[1:]:
        follows.follow_create(follower=fan, followed=bob)
    wait_until(
        lambda: FollowerAlertState.objects.filter(recipient=bob, digest_scheduled=True).exists(),
        "a digest to be scheduled",
    )

    # Hold bob's state row until both workers are blocked on it with a task for the window's close
    # (duplicates of the scheduled digest, as a redelivery or the sweeper would add), and the
    # window has closed. Then let them race.
    with transaction.atomic():
        FollowerAlertState.objects.select_for_update().get(recipient=bob)
        for _ in range(4):
            tasks.follower_alerts_process.apply_async(args=[bob.pk], queue="email-bulk")
        wait_until(lambda: lock_waiters() >= 2, "both workers to wait for the state row")
        wait_until(lambda: timezone.now() > state.window_until, "the window to close")

    smtp_server.wait_for(2, timeout=TIMEOUT)
    wait_until(lambda: broker_idle(redis_client), "the workers to finish every task", TIMEOUT)
    wait_until(lambda: not OutboundEmail.objects.exclude(status="sent").exists(), "every email to be sent")

    assert len(smtp_server.messages) == 2, [m["message"]["Subject"] for m in smtp_server.messages]
    prompt, digest = (record["message"] for record in smtp_server.messages)
    assert prompt["Subject"] == "alice is now following you"
    assert digest["Subject"] == "carol, dave, erin and frank are now following you"
    for message in (prompt, digest):
        assert message["To"] == "bob@example.com"
        assert "/notifications/unsubscribe/" in message["List-Unsubscribe"]
        assert message["List-Unsubscribe"].startswith("<http") and message["List-Unsubscribe"].endswith(">")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert {part.get_content_type() for part in message.walk()} >= {"text/plain", "text/html"}
    assert OutboundEmail.objects.filter(template="follower_digest").count() == 1
    state.refresh_from_db()
    assert state.alerts_sent == 2 and not state.digest_scheduled
