"""GET /metrics for Prometheus: 404 unless METRICS_TOKEN is set, then only with
`Authorization: Bearer <METRICS_TOKEN>`.

With METRICS_MULTIPROC_DIR (PROMETHEUS_MULTIPROC_DIR in the environment) the counters of every
gunicorn worker and Celery process are read from that folder and added up; without it, this
process's own. Gauges of what is in the database (outbox rows by status, codes by outcome) are
read at scrape time, one grouped query each, so they are right whichever process answers.
"""

import hmac
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector


class DatabaseCollector:
    """Gauges read from the database when Prometheus scrapes."""

    def collect(self):
        from notifications.models import OutboundEmail

        rows = GaugeMetricFamily("mailsite_outbox_rows", "Outbox rows by status.", labels=["status"])
        counts = dict(OutboundEmail.objects.values_list("status").annotate(n=Count("id")).order_by())
        for status in OutboundEmail.Status.values:
            rows.add_metric([status], counts.get(status, 0))
        yield rows
        if apps.is_installed("accounts"):
            model = apps.get_model("accounts", "EmailCaptcha")
            since = timezone.now() - timedelta(hours=24)
            codes = GaugeMetricFamily(
                "mailsite_codes_last_24h", "Emailed codes created in the last 24 hours, by outcome.", labels=["outcome"]
            )
            found = dict(
                model.objects.filter(created_at__gt=since).values_list("outcome").annotate(n=Count("id")).order_by()
            )
            for outcome in model.Outcome.values:
                codes.add_metric([outcome], found.get(outcome, 0))
            yield codes


class HealthCollector:
    """The background components, checked when Prometheus scrapes (mailsite/health.py): each is
    up or not, and the age of beat's and each queue's worker heartbeat. deploy/prometheus-alerts.yml
    has an alert rule on each."""

    def collect(self):
        from . import health

        up = GaugeMetricFamily(
            "mailsite_component_up", "1 when the component's health check passes.", labels=["component"]
        )
        for name, result in health.run_checks(health.COMPONENTS).items():
            up.add_metric([name], 1 if result == "ok" else 0)
        yield up
        try:
            beat = health.heartbeat_age(cache.get(health.HEARTBEAT_KEY))
            workers = health.workers_ages()
        except Exception:  # the cache is down: /readyz says so; the ages are unknown
            return
        if beat is not None:
            yield GaugeMetricFamily(
                "mailsite_beat_heartbeat_age_seconds", "Seconds since beat's last heartbeat.", value=beat
            )
        ages = GaugeMetricFamily(
            "mailsite_worker_heartbeat_age_seconds",
            "Seconds since a worker consuming the queue last beat.",
            labels=["queue"],
        )
        for queue, age in workers.items():
            if age is not None:
                ages.add_metric([queue], age)
        yield ages


class _ThisProcess:
    def collect(self):
        yield from REGISTRY.collect()


def _registry():
    registry = CollectorRegistry(auto_describe=False)
    folder = getattr(settings, "METRICS_MULTIPROC_DIR", "")
    if folder:
        MultiProcessCollector(registry, path=folder)
    else:
        registry.register(_ThisProcess())
    registry.register(DatabaseCollector())
    registry.register(HealthCollector())
    return registry


def _authorized(request, token):
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@require_GET
def metrics(request):
    token = getattr(settings, "METRICS_TOKEN", "")
    if not token:
        raise Http404("metrics are off")
    if not _authorized(request, token):
        response = HttpResponse("A bearer token is required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
