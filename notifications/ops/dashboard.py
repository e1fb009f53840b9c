"""Selectors for the delivery dashboard: each number comes from one aggregate query, and each
query reads one index (see OutboundEmail.Meta.indexes and bench/dashboard.py).

Everything here reads; nothing writes. Times are "now" minus a window, so a test can pass `now`.
"""

from datetime import timedelta

from django.apps import apps
from django.db import connection
from django.db.models import Count, Min, Q, Value
from django.db.models.functions import Coalesce, Left, NullIf, Trunc
from django.utils import timezone

from ..conf import settings
from ..models import EmailEvent, OutboundEmail
from ..outbox.failover import transport_chain

Status = OutboundEmail.Status
# Statuses a row reaches only after the provider accepted it.
ACCEPTED = [Status.SENT, Status.DELIVERED, Status.BOUNCED, Status.COMPLAINED, Status.REJECTED]
SERIES = ("sent", "delivered", "bounced", "complained", "failed", "suppressed")
WINDOWS = {"24h": (timedelta(hours=24), "hour"), "7d": (timedelta(days=7), "hour")}


def _hours(now, span):
    start = (now - span).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return [start + timedelta(hours=n) for n in range(int(span.total_seconds() // 3600))]


def _bucket(rows, series, into):
    for row in rows:
        slot = into.get(row["hour"])
        if slot is not None:
            slot[series(row) if callable(series) else series] += row["n"]


def outcomes_per_hour(*, span, now=None):
    """{hour: {series: count}} for the last `span`, oldest first: three grouped queries (sent by
    sent_at, provider events by occurred_at, failed and suppressed by updated_at)."""
    now = now or timezone.now()
    since = now - span
    hours = {hour: dict.fromkeys(SERIES, 0) for hour in _hours(now, span)}
    sent = (
        OutboundEmail.objects.filter(sent_at__gt=since, sent_at__lte=now)
        .annotate(hour=Trunc("sent_at", "hour"))
        .values("hour")
        .annotate(n=Count("id"))
    )
    _bucket(sent, "sent", hours)
    events = (
        EmailEvent.objects.filter(event_type__in=["delivered", "bounced", "complained"], occurred_at__gt=since)
        .annotate(hour=Trunc("occurred_at", "hour"))
        .values("hour", "event_type")
        .annotate(n=Count("id"))
    )
    _bucket(events, lambda row: row["event_type"], hours)
    ended = (
        OutboundEmail.objects.filter(status__in=[Status.FAILED, Status.SUPPRESSED], updated_at__gt=since)
        .annotate(hour=Trunc("updated_at", "hour"))
        .values("hour", "status")
        .annotate(n=Count("id"))
    )
    _bucket(ended, lambda row: row["status"], hours)
    return hours


def queue_depth(*, now=None):
    """Rows waiting to go (queued or being sent) and the age in seconds of the oldest queued one."""
    now = now or timezone.now()
    found = OutboundEmail.objects.filter(status__in=[Status.QUEUED, Status.SENDING]).aggregate(
        depth=Count("id"), oldest=Min("created_at", filter=Q(status=Status.QUEUED))
    )
    age = (now - found["oldest"]).total_seconds() if found["oldest"] else 0.0
    return {"depth": found["depth"], "oldest_age": max(age, 0.0)}


def latency(*, span=timedelta(hours=24), now=None):
    """p50 and p95 of queued -> sent, in seconds, over rows sent in the last `span` (PostgreSQL)."""
    now = now or timezone.now()
    if connection.vendor != "postgresql":
        return {"p50": None, "p95": None, "count": None}
    table = OutboundEmail._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM sent_at - created_at)),
                       percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM sent_at - created_at)),
                       count(*)
                FROM {table} WHERE sent_at > %s AND sent_at <= %s""",  # noqa: S608 (the table name is ours)
            [now - span, now],
        )
        p50, p95, count = cursor.fetchone()
    return {"p50": p50, "p95": p95, "count": count}


def providers(*, span=timedelta(hours=24), now=None):
    """Per provider over rows created in the last `span`: accepted, failed, and failed over to it."""
    now = now or timezone.now()
    # A row that never moved or got through keeps provider empty: it was on the first provider.
    first = Value(transport_chain()[0])
    rows = (
        OutboundEmail.objects.filter(created_at__gt=now - span)
        .exclude(status__in=[Status.QUEUED, Status.SUPPRESSED], provider="")
        .annotate(name=Coalesce(NullIf("provider", Value("")), first))
        .values("name")
        .annotate(
            accepted=Count("id", filter=Q(status__in=ACCEPTED)),
            failed=Count("id", filter=Q(status=Status.FAILED)),
            failovers=Count("id", filter=Q(provider_since_attempt__gt=0)),
        )
        .order_by("name")
    )
    return [{"provider": row.pop("name"), **row} for row in rows]


def codes(*, span=timedelta(hours=24), now=None):
    """Emailed codes requested, verified and locked in the last `span`, when the accounts app is
    installed (read by name, so notifications does not import it)."""
    if not apps.is_installed("accounts"):
        return None
    model = apps.get_model("accounts", "EmailCaptcha")
    now = now or timezone.now()
    return model.objects.filter(created_at__gt=now - span).aggregate(
        requested=Count("id"),
        verified=Count("id", filter=Q(outcome="used")),
        locked=Count("id", filter=Q(outcome="locked")),
    )


def bounce_reasons(*, span=timedelta(days=7), now=None, limit=8):
    """The most frequent bounce descriptions (first 120 characters) in the last `span`."""
    now = now or timezone.now()
    rows = (
        EmailEvent.objects.filter(event_type="bounced", occurred_at__gt=now - span)
        .annotate(reason=Left("description", 120))
        .values("reason")
        .annotate(n=Count("id"))
        .order_by("-n", "reason")[:limit]
    )
    return [{"reason": row["reason"] or "(no description)", "n": row["n"]} for row in rows]


def send_rate(*, now=None, window=60):
    """Messages accepted by a provider per second over the last `window` seconds, and the limit."""
    now = now or timezone.now()
    count = OutboundEmail.objects.filter(sent_at__gt=now - timedelta(seconds=window), sent_at__lte=now).count()
    return {"rate": count / window, "limit": float(settings.NOTIFICATIONS_MAX_RATE or 0.0)}


def bounce_rate(*, span=timedelta(hours=1), now=None):
    """(bounced events, messages sent) over the last `span`: the alert's measure."""
    now = now or timezone.now()
    since = now - span
    bounced = EmailEvent.objects.filter(event_type="bounced", occurred_at__gt=since).count()
    sent = OutboundEmail.objects.filter(sent_at__gt=since, sent_at__lte=now).count()
    return bounced, sent
