"""Hourly sums for the delivery dashboard, so its charts cost the same at 10,000 outbox rows and
at 10,000,000.

The dashboard shows per hour, over 24 hours or 7 days: messages sent, delivered, bounced,
complained, failed and suppressed, and per provider the messages accepted, failed and failed over.
Counted from the raw rows, a week of a busy outbox is millions of rows read on every page view.
Instead a beat task (`delivery_rollup`, every 5 minutes) sums each hour into DeliveryHour rows
(hour, provider, outcome, n), the current hour as far as it has gone (up to NOTIFICATIONS_ROLLUP_GRACE
seconds ago: outcomes are written in groups, a little after the send), and the dashboard reads
those: a week is a few thousand small rows, through the table's unique index. Only what happened
since the last run (a few minutes) is counted live, from the same indexed ranges the rollup reads
(`counts`), so the page's cost follows the mail of the last minutes, never the size of the table.

Why a rollup and not a counter bumped with each status change: the counter would be an
`INSERT ... ON CONFLICT DO UPDATE SET n = n + 1` in the worker's outcome transaction, on the one
row of the current hour and provider that every worker writes; the workers would queue on its
lock, and every other place that changes a status (webhooks, the sweeper, suppression, the admin)
would need the same bump, or the numbers drift. The rollup adds nothing to the worker's path (its
throughput is unchanged, see bench/throughput.py), and it recounts instead of adding up.

Exact, never counted twice: an hour's rows are recomputed from the outbox and the events and
replace what was there (in one transaction, with its "summed" mark and the moment it counts
through), so running the task again, a redelivered task or a message retried before it was sent
adds nothing; each row the dashboard counts comes either from the sums (before that moment) or
from the live count (from it on), never both. An hour already summed is
summed again when something that counts in it changes later: an event received late (by its
received_at) or an outbox row written late (by its updated_at), looked up since the last run.
A message is counted once, as sent in the hour of its sent_at; a failed or suppressed one in the
hour of its last change (updated_at), as the dashboard always did; one an operator sends again
later stays counted as failed in that hour (it did fail then) and as sent in the hour it went.

The top bounce reasons are summed the same way, in the same transaction, into BounceReasonHour
rows (hour, kind, normalised reason, n; see bounces.py): the hour's DeliveryHour mark says
through when they are counted too, and the dashboard reads them with the minutes since counted
live (`reasons_combined`).
"""

import logging
from collections import Counter
from datetime import UTC, timedelta

from django.db import transaction
from django.db.models import Case, Count, DurationField, ExpressionWrapper, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce, NullIf, Trunc
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

from ..conf import settings
from ..models import BounceReasonHour, DeliveryHour, EmailEvent, OutboundEmail
from ..outbox.failover import transport_chain
from .bounces import reason_counts

logger = logging.getLogger(__name__)
Status = OutboundEmail.Status
HOUR = timedelta(hours=1)
SUMMED = "summed"  # the outcome of an hour's mark: the hour is summed
EVENTS = ["delivered", "bounced", "complained"]
ENDED = [Status.FAILED, Status.SUPPRESSED]
# The dashboard's longest window; hours older than this are neither summed again nor kept.
KEEP = timedelta(days=7) + HOUR
# Rows and events written this long before the last run's mark may not have been visible to it.
MARGIN = timedelta(minutes=5)
# Queued -> sent, summed per hour as a histogram of cumulative buckets ("le", as Prometheus'):
# each bound's outcome counts the messages sent within that many seconds; `sent` is the whole.
LATENCY_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600)


def latency_outcome(bound):
    """The outcome under which an hour's count of messages sent within `bound` seconds is kept."""
    return f"lat_le_{bound:g}"


def hour_of(moment):
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _hour(field):
    return Trunc(field, "hour", tzinfo=UTC)


def counts(since, until):
    """Counter{(hour, provider, outcome): n} of what happened from `since` to before `until`:
    three grouped queries, each over an indexed range (sent_at; status and updated_at; event type
    and occurred_at). Outcomes: sent, failover (of those sent or failed), failed, suppressed, the
    provider's delivered, bounced and complained, and the latency buckets of those sent
    (latency_outcome). A row that never moved to another provider
    keeps provider empty: it is counted for the first provider."""
    found = Counter()
    name = Coalesce(NullIf("provider", Value("")), Value(transport_chain()[0]))
    waited = ExpressionWrapper(F("sent_at") - F("created_at"), output_field=DurationField())
    within = {
        latency_outcome(bound): Count(
            "id", filter=LessThanOrEqual(waited, Value(timedelta(seconds=bound), output_field=DurationField()))
        )
        for bound in LATENCY_BUCKETS
    }
    sent = (
        OutboundEmail.objects.filter(sent_at__gte=since, sent_at__lt=until)
        .annotate(hour=_hour("sent_at"), name=name)
        .values("hour", "name")
        .annotate(n=Count("id"), failovers=Count("id", filter=Q(provider_since_attempt__gt=0)), **within)
        .order_by()
    )
    for row in sent:
        found[row["hour"], row["name"], "sent"] += row["n"]
        found[row["hour"], row["name"], "failover"] += row["failovers"]
        for outcome in within:
            found[row["hour"], row["name"], outcome] += row[outcome]
    ended = (
        OutboundEmail.objects.filter(status__in=ENDED, updated_at__gte=since, updated_at__lt=until)
        .annotate(hour=_hour("updated_at"), name=name)
        .values("hour", "name", "status")
        .annotate(n=Count("id"), failovers=Count("id", filter=Q(provider_since_attempt__gt=0)))
        .order_by()
    )
    for row in ended:
        if row["status"] == Status.FAILED:
            found[row["hour"], row["name"], "failed"] += row["n"]
            found[row["hour"], row["name"], "failover"] += row["failovers"]
        else:  # never handed to a provider
            found[row["hour"], "", "suppressed"] += row["n"]
    events = (
        EmailEvent.objects.filter(event_type__in=EVENTS, occurred_at__gte=since, occurred_at__lt=until)
        .annotate(hour=_hour("occurred_at"))
        .values("hour", "provider", "event_type")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in events:
        found[row["hour"], row["provider"], row["event_type"]] += row["n"]
    return +found  # without zeros


def summed(first, last):
    """(Counter{(hour, provider, outcome): n}, {hour: counted through}) for the hours first..last
    that have a mark, from DeliveryHour: one query over the unique index's range."""
    found, marks = Counter(), {}
    # `through` only on the marks: half the timestamps to convert (a week is ~1,500 rows).
    rows = (
        DeliveryHour.objects.filter(hour__gte=first, hour__lte=last)
        .annotate(mark=Case(When(outcome=SUMMED, then="through")))
        .values_list("hour", "provider", "outcome", "n", "mark")
    )
    for hour, provider, outcome, n, through in rows:
        if outcome == SUMMED:
            marks[hour] = through
        else:
            found[hour, provider, outcome] += n
    return Counter({key: n for key, n in found.items() if key[0] in marks}), marks


def _split(hours, marks):
    """How `hours` (consecutive, oldest first) are read, given the sums' marks {hour: through}:
    (kept, rest, since). The sums of the `kept` hours count: those summed whole and, from the
    first hour that is not (normally the current one, summed as far as it had gone), its sums up
    to their moment; the hours in `rest` are counted live from `since` on."""
    whole = {hour for hour, through in marks.items() if through >= hour + HOUR}
    rest = [hour for hour in hours if hour not in whole]
    if not rest:
        return whole, rest, None
    partial = rest[0] if rest[0] in marks else None
    since = marks[partial] if partial else rest[0]
    return whole | ({partial} if partial else set()), rest, since


def combined(hours, *, now):
    """Counter{(hour, provider, outcome): n} for `hours` (consecutive, oldest first) as of `now`:
    the sums (see _split) and everything after their moment counted live (rollup.counts). Each
    row is counted once: by the sums or live."""
    found, marks = summed(hours[0], hours[-1])
    kept, rest, since = _split(hours, marks)
    if not rest:
        return found
    found = Counter({key: n for key, n in found.items() if key[0] in kept})
    for key, n in counts(since, now + timedelta(microseconds=1)).items():
        if key[0] in rest:
            found[key] += n
    return found


def reasons_combined(hours, *, now):
    """Counter{(kind, reason): n} of the bounces in `hours` (consecutive, oldest first) as of
    `now`, each counted once, as in combined(): the hours' marks (one query on DeliveryHour's
    index), the sums of the kept hours added up by reason (one query on BounceReasonHour's), and
    the bounces since the sums' moment counted live (one query on the events' index). Its cost
    follows the number of reasons and the bounces of the last minutes, not the table."""
    marks = dict(
        DeliveryHour.objects.filter(outcome=SUMMED, hour__gte=hours[0], hour__lte=hours[-1]).values_list(
            "hour", "through"
        )
    )
    kept, rest, since = _split(hours, marks)
    found = Counter()
    if kept:
        ranges = Q()
        for first, last in _runs(kept):
            ranges |= Q(hour__gte=first, hour__lte=last)
        rows = BounceReasonHour.objects.filter(ranges).values_list("kind", "reason").annotate(n=Sum("n")).order_by()
        found.update({(kind, reason): n for kind, reason, n in rows})
    if rest:
        for (hour, kind, reason), n in reason_counts(since, now + timedelta(microseconds=1)).items():
            if hour in rest:
                found[kind, reason] += n
    return +found


def _runs(hours):
    """Sorted hours as runs of consecutive ones: [(first, last), ...]."""
    runs = []
    for hour in sorted(hours):
        if runs and hour - runs[-1][1] == HOUR:
            runs[-1][1] = hour
        else:
            runs.append([hour, hour])
    return runs


def _changed_hours(since):
    """Hours that something written since `since` counts in: late outcomes and late events."""
    rows = (
        OutboundEmail.objects.filter(status__in=[*ENDED, *EVENTS, Status.SENT, Status.REJECTED], updated_at__gt=since)
        .annotate(hour=_hour(Coalesce("sent_at", "updated_at")))
        .values_list("hour", flat=True)
        .distinct()
        .order_by()
    )
    events = (
        EmailEvent.objects.filter(received_at__gt=since, event_type__in=EVENTS)
        .annotate(hour=_hour("occurred_at"))
        .values_list("hour", flat=True)
        .distinct()
        .order_by()
    )
    return set(rows) | set(events)


def delivery_rollup(*, now=None):
    """Sum every hour of the last week up to `now` less the grace: those not summed yet or summed
    only in part (the current hour, each run), and again those that something written since the
    last run counts in, with their bounce reasons; drop sums older than a week. Returns {"hours":
    hours summed, "pruned": rows deleted}."""
    now = now or timezone.now()
    oldest = hour_of(now - KEEP)
    through = now - timedelta(seconds=settings.NOTIFICATIONS_ROLLUP_GRACE)  # what is older is written
    marks = dict(DeliveryHour.objects.filter(outcome=SUMMED, hour__gte=oldest).values_list("hour", "through"))
    wanted = {oldest + HOUR * n for n in range(int((hour_of(through) - oldest) / HOUR) + 1)}
    due = {hour for hour in wanted if marks.get(hour) is None or marks[hour] < hour + HOUR}
    if marks:
        due |= {hour for hour in _changed_hours(max(marks.values()) - MARGIN) if hour in wanted}
    for first, final in _runs(due):
        hours = {first + HOUR * n for n in range(int((final - first) / HOUR) + 1)}
        found = counts(first, min(final + HOUR, through))
        rows = [
            DeliveryHour(hour=hour, provider=provider, outcome=outcome, n=n, through=through)
            for (hour, provider, outcome), n in found.items()
        ]
        rows += [DeliveryHour(hour=hour, provider="", outcome=SUMMED, n=0, through=through) for hour in hours]
        reasons = [
            BounceReasonHour(hour=hour, kind=kind, reason=reason, n=n)
            for (hour, kind, reason), n in reason_counts(first, min(final + HOUR, through)).items()
        ]
        with transaction.atomic():
            DeliveryHour.objects.filter(hour__gte=first, hour__lte=final).delete()
            BounceReasonHour.objects.filter(hour__gte=first, hour__lte=final).delete()
            # A concurrent run may have written the same hours since: its rows are replaced.
            DeliveryHour.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["hour", "provider", "outcome"],
                update_fields=["n", "through"],
            )
            BounceReasonHour.objects.bulk_create(
                reasons, update_conflicts=True, unique_fields=["hour", "kind", "reason"], update_fields=["n"]
            )
    pruned, _ = DeliveryHour.objects.filter(hour__lt=oldest).delete()
    pruned += BounceReasonHour.objects.filter(hour__lt=oldest).delete()[0]
    logger.debug("rollup: summed %d hour(s), dropped %d old row(s)", len(due), pruned)
    return {"hours": len(due), "pruned": pruned}
