"""The delivery dashboard in the admin: is mail flowing, stuck or bouncing? Charts are SVG drawn
here (charts.py), the numbers come from dashboard.py, one aggregate query each; the hourly ones
from the rollup's sums (rollup.py)."""

from datetime import timedelta

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import EmailEvent
from . import charts, dashboard
from .alerts import alerts_current

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}


def _outcomes_chart(span, now, hourly):
    hours = dashboard.outcomes_per_hour(span=span, hours=hourly)
    labels = [hour.strftime("%H:%M" if span <= timedelta(days=1) else "%a %H") for hour in hours]
    series = {name: [counts[name] for counts in hours.values()] for name in dashboard.SERIES}
    title = _("Outcomes per hour, last %(window)s") % {"window": "24 h" if span <= timedelta(days=1) else "7 days"}
    return charts.line_chart(title=title, labels=labels, series=series, tick_every=3 if len(labels) <= 24 else 24)


def _reason_label(row):
    """A bounce reason as the chart shows it: its kind (translated), then the normalised text."""
    reason = row["reason"] or _("(no description)")
    return f"{EmailEvent.Bounce(row['kind']).label} · {reason}" if row["kind"] else reason


def delivery_dashboard(request):
    if not request.user.has_perm("notifications.view_outboundemail"):
        raise PermissionDenied
    now = timezone.now()
    window = request.GET.get("window", "24h")
    span = WINDOWS.get(window, WINDOWS["24h"])
    rate = dashboard.send_rate(now=now)
    # One read of the hourly sums serves the chart's window and the providers' last 24 hours.
    hourly = dashboard.hourly(span=max(span, WINDOWS["24h"]), now=now)
    providers = dashboard.providers(span=WINDOWS["24h"], hours=hourly)
    reasons = dashboard.bounce_reasons(now=now)
    context = {
        **admin.site.each_context(request),
        "title": _("Delivery dashboard"),
        "window": window if window in WINDOWS else "24h",
        "windows": list(WINDOWS),
        "alerts": alerts_current(now=now),
        "outcomes": _outcomes_chart(span, now, hourly),
        "queue": dashboard.queue_depth(now=now),
        "latency": dashboard.latency(now=now, hours=hourly),
        "providers": providers,
        "providers_chart": charts.bar_chart(
            title=_("Accepted per provider, last 24 h"),
            items=[(row["provider"], row["accepted"]) for row in providers],
        ),
        "codes": dashboard.codes(now=now),
        "reasons_chart": charts.bar_chart(
            title=_("Top bounce reasons, last 7 days"),
            items=[(_reason_label(row), row["n"]) for row in reasons],
            colour="#d97706",
        ),
        "rate": rate,
        "rate_chart": charts.meter(title=_("Send rate, last minute"), value=rate["rate"], limit=rate["limit"]),
    }
    return TemplateResponse(request, "notifications/admin/dashboard.html", context)
