"""7. Operations at scale: the outbox filled by COPY to 10,000 rows, then to 10,000,000 (x scale);
the delivery dashboard page, each of its queries, the sweeper's query and a claim, timed at both
sizes.

Queries over a time window (outcomes per hour, latency, providers) read every row inside the window
from their index, so they grow with the mail sent in that window, not with the table; the
sweeper's query, a claim, the send rate and the page's fixed cost stay flat.
"""

import random
import time
from datetime import timedelta

from .core import Result
from .environment import state_reset

SMALL = 10_000
FULL = 10_000_000
COLUMNS = (
    "status, category, template, from_email, recipients, subject, payload, payload_encrypted, sensitive, redacted, "
    "attempts, last_error, next_attempt_at, provider, provider_since_attempt, provider_message_id, created_at, "
    "updated_at, sent_at, mime, refused_recipients"
)
STATUSES = ["delivered"] * 70 + ["sent"] * 20 + ["bounced"] * 4 + ["failed"] * 3 + ["suppressed"] * 2 + ["queued"]


def fill(count, *, now):
    """Append `count` rows spread over the last 30 days, through COPY."""
    from django.db import connection

    from notifications.models import OutboundEmail

    rng = random.Random(count)
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {OutboundEmail._meta.db_table} ({COLUMNS}) FROM STDIN") as copy,
    ):
        for number in range(count):
            status = rng.choice(STATUSES)
            created = now - timedelta(seconds=rng.uniform(0, 30 * 86400))
            sent = created + timedelta(seconds=rng.expovariate(1 / 2)) if status not in ("queued", "failed") else None
            copy.write_row(
                (
                    status,
                    "urgent",
                    "code",
                    "s@example.com",
                    f"u{number}@example.com",
                    "Hello",
                    '{"body": "x"}',
                    "",
                    False,
                    False,
                    1,
                    "",
                    created,
                    "transport",
                    0,
                    f"m{number}",
                    created,
                    sent or created,
                    sent,
                    "",
                    "{}",
                )
            )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {OutboundEmail._meta.db_table}")


def timed(action, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - began)
    return best


def measure():
    """{name: seconds} for the page, each dashboard query, the sweep's query and a claim."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone

    from notifications.models import OutboundEmail
    from notifications.ops import dashboard
    from notifications.outbox import delivery

    user = get_user_model().objects.filter(username="bench-admin").first() or get_user_model().objects.create_superuser(
        "bench-admin", "bench-admin@example.com", "x"
    )
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    sweep = OutboundEmail.objects.filter(status="queued", next_attempt_at__lte=timezone.now()).only("pk")[:10_000]
    day = timedelta(hours=24)
    return {
        "page": timed(lambda: client.get("/admin/delivery/")),
        "outcomes_7d": timed(lambda: dashboard.outcomes_per_hour(span=timedelta(days=7))),
        "queue_depth": timed(dashboard.queue_depth),
        "latency": timed(dashboard.latency),
        "providers": timed(lambda: dashboard.providers(span=day)),
        "bounce_reasons": timed(dashboard.bounce_reasons),
        "send_rate": timed(dashboard.send_rate),
        "sweep_query": timed(lambda: list(sweep)),
        "claim_100": timed(lambda: delivery.claim_due("urgent", limit=100), repeat=1),
    }


def run(ctx):
    from django.utils import timezone

    big = ctx.size(FULL, minimum=SMALL * 10)
    result = Result(
        "dashboard",
        f"7. Operations at {big:,} outbox rows",
        goal="each query and the dashboard page at most 2x its time at 10,000 rows",
    )
    state_reset(ctx.env)
    now = timezone.now()
    fill(SMALL, now=now)
    small = measure()
    fill(big - SMALL, now=now)
    large = measure()
    ratios = {name: large[name] / max(small[name], 1e-4) for name in small}
    for name in small:
        result.row(
            f"{name} at {SMALL:,} / {big:,} rows",
            f"{small[name] * 1000:.1f} / {large[name] * 1000:.1f} ms (x{ratios[name]:.1f})",
        )
    result.numbers.update({f"{name}_ms_small": round(small[name] * 1000, 2) for name in small})
    result.numbers.update({f"{name}_ms_large": round(large[name] * 1000, 2) for name in large})
    result.met = all(ratio <= 2 for ratio in ratios.values())
    result.headline = f"page {large['page'] * 1000:.0f} ms at {big:,} rows (x{ratios['page']:.1f})"
    return result
