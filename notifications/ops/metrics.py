"""Prometheus metrics of the outbox, with the official prometheus-client.

Counters and histograms live in each process that sends or receives mail. With
PROMETHEUS_MULTIPROC_DIR set (docker-compose sets it on a volume shared by web, workers and beat),
prometheus-client writes them to files there, and /metrics adds every process's up.

Recorded by hooks the delivery path calls (delivery_sent, delivery_failed, ...) and by signal
receivers (tracking events saved, sweeper runs), so the path itself carries one line per outcome.
Each hook also writes the log line an operator follows: outbox id and provider message id.

prometheus-client is the `prometheus` extra. Without it the hooks still log, the counters count
nothing, and `manage.py check` says so (notifications.I001): a project that does not scrape
metrics should not need the package, and one that does is told why its /metrics is empty.
"""

import logging

from celery.signals import task_postrun
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from ..models import EmailEvent

try:
    from prometheus_client import Counter, Histogram
except ImportError:  # the `prometheus` extra is not installed
    from .null_metrics import Counter, Histogram

logger = logging.getLogger("notifications.ops")

DELIVERIES = Counter("mailsite_deliveries", "Delivery attempts by provider and outcome.", ["provider", "outcome"])
LATENCY = Histogram(
    "mailsite_delivery_latency_seconds",
    "Seconds from queued to accepted by the provider.",
    ["provider"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, float("inf")),
)
RETRIES = Counter("mailsite_delivery_retries", "Transient failures retried later.", ["provider"])
FAILOVERS = Counter("mailsite_failovers", "Messages handed to the next provider.", ["from_provider", "to_provider"])
WEBHOOK_EVENTS = Counter(
    "mailsite_webhook_events", "Tracking events recorded, by provider and type.", ["provider", "event"]
)
SWEEPS = Counter("mailsite_sweeper_runs", "Outbox sweeper runs.")
SWEPT = Counter("mailsite_sweeper_reenqueued", "Rows the sweeper published again.")


def outbox_created(rows):
    """Logged by the process that stored the rows (a request's log line carries its id)."""
    ids = [row.pk for row in rows]
    logger.info("outbox: stored email(s) %s", ", ".join(map(str, ids)), extra={"outbox_ids": ids})


def delivery_sent(row, alias, message_id):
    DELIVERIES.labels(alias, "sent").inc()
    LATENCY.labels(alias).observe(max((timezone.now() - row.created_at).total_seconds(), 0))
    logger.info(
        "outbox: email %s sent via %s as %s",
        row.pk,
        alias,
        message_id or "-",
        extra={"outbox_id": row.pk, "provider_message_id": message_id},
    )


def delivery_failed(row, alias, *, final):
    DELIVERIES.labels(alias, "failed" if final else "retry").inc()
    if not final:
        RETRIES.labels(alias).inc()


def delivery_failover(row, from_alias, to_alias):
    DELIVERIES.labels(from_alias, "failover").inc()
    FAILOVERS.labels(from_alias, to_alias).inc()


def delivery_suppressed(row, alias):
    DELIVERIES.labels(alias, "suppressed").inc()


@receiver(post_save, sender=EmailEvent, dispatch_uid="notifications.metrics.event")
def _event_recorded(sender, instance, created, **kwargs):
    if not created:
        return
    WEBHOOK_EVENTS.labels(instance.provider, instance.event_type).inc()
    logger.info(
        "tracking: %s event for email %s (%s)",
        instance.event_type,
        instance.email_id or "-",
        instance.message_id or "-",
        extra={"outbox_id": instance.email_id, "provider_message_id": instance.message_id},
    )


@task_postrun.connect(dispatch_uid="notifications.metrics.sweep")
def _sweep_ran(sender=None, retval=None, state=None, **kwargs):
    if getattr(sender, "name", "") != "notifications.tasks.outbox_sweep" or state != "SUCCESS":
        return
    SWEEPS.inc()
    if isinstance(retval, int):
        SWEPT.inc(retval)
