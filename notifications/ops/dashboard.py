"""Selectors for the delivery dashboard: each number comes from one aggregate query, and each
query reads one index (see OutboundEmail.Meta.indexes and bench/dashboard.py), over a range whose
size does not follow the table's: the hourly charts, the providers, the latency percentiles (from
hourly latency buckets) and the bounce reasons read the hourly sums (rollup.py) plus, live, the
minutes since its last run; depth and age read the queued rows; the send rate reads the last
minute.

Everything here reads; nothing writes. Times are "now" minus a window, so a test can pass `now`.
"""

from collections import Counter
from datetime import timedelta

from django.apps import apps
from django.db.models import Count, Min, Q
from django.utils import timezone

from ..conf import settings
from ..models import EmailEvent, OutboundEmail
from . import rollup

Status = OutboundEmail.Status
SERIES = ("sent", "delivered", "bounced", "complained", "failed", "suppressed")
PROVIDER_OUTCOMES = ("sent", "failed", "failover")


def _hours(now, span):
    start = rollup.hour_of(now - span) + timedelta(hours=1)
    return [start + timedelta(hours=n) for n in range(int(span.total_seconds() // 3600))]


def hourly(*, span, now=None):
    """{hour: Counter{(provider, outcome): n}} for each hour of the last `span`, oldest first (the
    outcomes of rollup.counts): the hourly sums, one query on their index, and what happened
    since the rollup's last run (a few minutes) counted live over indexed ranges (rollup.combined)."""
    now = now or timezone.now()
    hours = _hours(now, span)
    slots = {hour: Counter() for hour in hours}
    for (hour, provider, outcome), n in rollup.combined(hours, now=now).items():
        if hour in slots:
            slots[hour][provider, outcome] += n
    return slots


def outcomes_per_hour(*, span, now=None, hours=None):
    """{hour: {series: count}} for the last `span`, oldest first, summed over providers. `hours`
    is what hourly() returned for at least `span`, when the caller has it already."""
    hours = hours if hours is not None else hourly(span=span, now=now)
    wanted = list(hours)[-int(span.total_seconds() // 3600) :]
    result = {}
    for hour in wanted:
        series = dict.fromkeys(SERIES, 0)
        for (_provider, outcome), n in hours[hour].items():
            if outcome in series:
                series[outcome] += n
        result[hour] = series
    return result


def queue_depth(*, now=None):
    """Rows waiting to go (queued or being sent) and the age in seconds of the oldest queued one."""
    now = now or timezone.now()
    found = OutboundEmail.objects.filter(status__in=[Status.QUEUED, Status.SENDING]).aggregate(
        depth=Count("id"), oldest=Min("created_at", filter=Q(status=Status.QUEUED))
    )
    age = (now - found["oldest"]).total_seconds() if found["oldest"] else 0.0
    return {"depth": found["depth"], "oldest_age": max(age, 0.0)}


def latency(*, span=timedelta(hours=24), now=None, hours=None):
    """p50 and p95 of queued -> sent, in seconds, over the last `span`, from the hourly sums'
    latency buckets (rollup.LATENCY_BUCKETS), read as Prometheus' histogram_quantile reads them:
    linear within the bucket the rank falls in. Beyond the last bound, that bound, with `over`
    set. No query of its own when the caller passes `hours` (as in outcomes_per_hour), so the
    cost does not follow the mail sent."""
    hours = hours if hours is not None else hourly(span=span, now=now)
    totals = Counter()
    for hour in list(hours)[-int(span.total_seconds() // 3600) :]:
        for (_provider, outcome), n in hours[hour].items():
            totals[outcome] += n
    count = totals["sent"]
    if not count:
        return {"p50": None, "p95": None, "count": 0, "p50_over": False, "p95_over": False}
    cumulative = [(bound, totals[rollup.latency_outcome(bound)]) for bound in rollup.LATENCY_BUCKETS]
    p50, p50_over = _quantile(0.5, cumulative, count)
    p95, p95_over = _quantile(0.95, cumulative, count)
    return {"p50": p50, "p95": p95, "count": count, "p50_over": p50_over, "p95_over": p95_over}


def _quantile(q, cumulative, count):
    """(estimate, beyond the last bound) of quantile `q` from [(bound, messages within it)]."""
    rank = q * count
    lower, below = 0.0, 0
    for bound, within in cumulative:
        if within >= rank:
            inside = within - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0), False
        lower, below = float(bound), within
    return lower, True


def providers(*, span=timedelta(hours=24), now=None, hours=None):
    """Per provider over the hours of the last `span`: messages it accepted (by sent_at), failed
    (by their last change), and failed over (those of them that came to it after an earlier
    provider gave up), from the hourly sums. `hours` as in outcomes_per_hour."""
    hours = hours if hours is not None else hourly(span=span, now=now)
    totals = Counter()
    for hour in list(hours)[-int(span.total_seconds() // 3600) :]:
        totals.update(hours[hour])
    names = sorted({provider for provider, outcome in totals if outcome in PROVIDER_OUTCOMES and provider})
    return [
        {
            "provider": name,
            "accepted": totals[name, "sent"],
            "failed": totals[name, "failed"],
            "failovers": totals[name, "failover"],
        }
        for name in names
    ]


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
    """The most frequent bounce reasons over the hours of the last `span`, most first: [{"kind":
    "hard", "soft" or "", "reason": the normalised text (ops/bounces.py), "n": count}], from the
    hourly sums and, live, the bounces since the rollup's last run (rollup.reasons_combined)."""
    now = now or timezone.now()
    found = rollup.reasons_combined(_hours(now, span), now=now)
    top = sorted(found.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [{"kind": kind, "reason": reason, "n": n} for (kind, reason), n in top]


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
