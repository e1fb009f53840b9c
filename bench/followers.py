"""4. Follower burst: thousands of people follow one user within a minute. How many emails reach
that user, and how many SQL queries the follows and the alerts cost.

Each follow is its own call of notifications.follows.follow_create in its own transaction, as
separate web requests would make them, from a few threads at once. A real worker (counting its
queries, bench/countingworker.py) decides and sends the alerts to the SMTP server.

The follower window (NOTIFICATIONS_FOLLOW_WINDOW, 15 minutes by default) is set to 1.5 times the
burst's expected length, from a short calibration burst to another user first, so the digest that
closes it arrives within the run. Any window at least as long as the burst gives the same count.
"""

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from .core import Result
from .environment import state_reset
from .procs import Sink, Worker

FULL = 10_000
THREADS = 4
CALIBRATION = 300  # follows timed (to another user) to size the window
GOAL_EMAILS = 2
STAR = "star@bench.example"


def users_create(count):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    User = get_user_model()
    now = timezone.now()
    star = User.objects.create(username="star", email=STAR, email_confirmed_at=now, password="!")
    followers = User.objects.bulk_create(
        [
            User(username=f"fan{n}", email=f"fan{n}@bench.example", email_confirmed_at=now, password="!")
            for n in range(count)
        ],
        batch_size=2000,
    )
    return star, followers


def burst(star, followers):
    """Every follower follows `star`, one follow_create (one transaction) each, THREADS at a time.
    Returns (seconds, SQL queries run by the follows including their on-commit scheduling)."""
    from django.db import connection

    from notifications.follows.services import follow_create

    total = [0]
    lock = threading.Lock()

    def follow_all(part):
        count = [0]

        def counting(execute, sql, params, many, context):
            count[0] += 1
            return execute(sql, params, many, context)

        try:
            with connection.execute_wrapper(counting):
                for follower in part:
                    follow_create(follower=follower, followed=star)
        finally:
            connection.close()
            with lock:
                total[0] += count[0]

    started = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(follow_all, [followers[i::THREADS] for i in range(THREADS)]))
    return time.monotonic() - started, total[0]


def follow_rate(followers):
    """Follows a second on this machine now, timed on a throwaway user, whose traces then go."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from notifications.models import Follow, FollowerAlertItem, FollowerAlertState
    from testing import ownership

    User = get_user_model()
    other = User.objects.create(
        username="calibration", email="calibration@bench.example", email_confirmed_at=timezone.now(), password="!"
    )
    sample = followers[:CALIBRATION]
    seconds, _queries = burst(other, sample)
    Follow.objects.filter(followed=other).delete()
    FollowerAlertItem.objects.filter(recipient=other).delete()
    FollowerAlertState.objects.filter(recipient=other).delete()
    other.delete()
    ownership.redis_flush(settings.REDIS_URL)  # its alert tasks, never run (the bench's own db)
    return len(sample) / seconds


def settled(star):
    """True once no follow waits for an alert and every alert row to the user has been sent."""
    from notifications.models import FollowerAlertItem, FollowerAlertState, OutboundEmail

    pending = FollowerAlertItem.objects.filter(recipient=star, alerted_at__isnull=True).exists()
    scheduled = FollowerAlertState.objects.filter(recipient=star, digest_scheduled=True).exists()
    unsent = OutboundEmail.objects.filter(recipients=STAR, status__in=["queued", "sending"]).exists()
    return not (pending or scheduled or unsent)


def run(ctx):
    from notifications.models import FollowerAlertItem

    count = ctx.size(FULL, minimum=10)
    result = Result(
        "followers",
        f"4. Follower burst: {count:,} follows of one user, as fast as they come",
        goal=f"<= {GOAL_EMAILS} emails to that user",
    )
    state_reset(ctx.env)
    star, followers = users_create(count)
    rate = follow_rate(followers)
    window = math.ceil(1.5 * count / rate) + 2
    sink = Sink(ctx.workdir, name="followers-sink", env=ctx.env.child()).start().wait_ready()
    worker = Worker(
        ctx.workdir,
        ctx.worker_env(sink, NOTIFICATIONS_FOLLOW_WINDOW=window),
        name="followers-worker",
        count_queries=True,
    )
    try:
        worker.start().wait_ready()
        seconds, follow_queries = burst(star, followers)
        deadline = time.monotonic() + window + 120
        while not settled(star) and time.monotonic() < deadline:
            time.sleep(0.25)
        time.sleep(1.0)  # anything still on its way to the server
        emails = sum(1 for _stamp, rcpt in sink.arrivals() if rcpt == STAR)
        timed_out = not settled(star)
    finally:
        worker.stop()
        sink.stop()
    tasks = worker.queries()
    alert_runs = tasks.get("notifications.tasks.follower_alerts_process", [])
    deliveries = tasks.get("notifications.tasks.outbox_drain", [])
    batches = sorted(
        FollowerAlertItem.objects.filter(recipient=star, batch__isnull=False).values_list("batch", flat=True).distinct()
    )
    per_batch = [FollowerAlertItem.objects.filter(recipient=star, batch=b).count() for b in batches]

    result.row("follows", count, "", fmt="{:,}")
    result.row("burst lasted", seconds, "s")
    result.row("emails to the followed user", emails, "", fmt="{:,}")
    result.row("followers in each email", " + ".join(f"{n:,}" for n in per_batch) or "none")
    result.row("queries by the follows (all requests)", follow_queries, "", fmt="{:,}")
    result.row("queries per follow", follow_queries / count, "", fmt="{:.1f}")
    result.row(f"worker: alert decisions ({len(alert_runs):,} tasks), queries", sum(alert_runs), "", fmt="{:,}")
    result.row(f"worker: deliveries ({len(deliveries):,} tasks), queries", sum(deliveries), "", fmt="{:,}")
    result.numbers = {
        "follows": count,
        "burst_seconds": round(seconds, 1),
        "window_seconds": window,
        "calibrated_follows_per_s": round(rate, 1),
        "emails_to_user": emails,
        "followers_per_email": per_batch,
        "follow_queries": follow_queries,
        "queries_per_follow": round(follow_queries / count, 2),
        "alert_tasks": len(alert_runs),
        "alert_task_queries": sum(alert_runs),
        "alert_task_queries_max": max(alert_runs, default=0),
        "delivery_tasks": len(deliveries),
        "delivery_task_queries": sum(deliveries),
    }
    result.notes.append(
        f"NOTIFICATIONS_FOLLOW_WINDOW was {window} s for the run (15 min by default; 1.5x the burst expected "
        f"at {rate:,.0f} follows/s) so the closing digest arrives within it"
    )
    if seconds > window:
        result.notes.append(f"the burst ({seconds:.0f} s) outlasted the window ({window} s)")
    if timed_out:
        result.notes.append("follows were still waiting for an alert when the run stopped waiting")
    result.headline = (
        f"{emails} email(s) ({' + '.join(f'{n:,}' for n in per_batch)} followers) for {count:,} follows in "
        f"{seconds:.0f} s; {follow_queries / count:.1f} queries a follow, {sum(alert_runs):,} in "
        f"{len(alert_runs):,} alert tasks"
    )
    result.met = emails <= GOAL_EMAILS and not timed_out and sum(per_batch) == count
    return result
