"""Server-side SVG charts for the delivery dashboard: no JavaScript, no CDN, nothing to vendor.

Each function returns markup safe to put in a template; every text inside it is escaped.
"""

from django.utils.html import escape
from django.utils.safestring import mark_safe

COLOURS = {
    "sent": "#2563eb",
    "delivered": "#16a34a",
    "bounced": "#d97706",
    "complained": "#9333ea",
    "failed": "#dc2626",
    "suppressed": "#6b7280",
}
PAD_LEFT, PAD_BOTTOM, PAD_TOP, PAD_RIGHT = 44, 22, 10, 10


def _nice_top(value):
    """The smallest 1, 2 or 5 x 10^n at or above `value` (the y axis' top)."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def line_chart(*, title, labels, series, width=640, height=200, tick_every=6):
    """One polyline per named series over `labels` (the x axis), with a legend."""
    count = max(len(labels), 2)
    peak = max([1, *(max(values, default=0) for values in series.values())])
    top = _nice_top(peak)
    plot_w, plot_h = width - PAD_LEFT - PAD_RIGHT, height - PAD_TOP - PAD_BOTTOM

    def x(i):
        return PAD_LEFT + plot_w * i / (count - 1)

    def y(v):
        return PAD_TOP + plot_h * (1 - v / top)

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height + 18}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<rect x="{PAD_LEFT}" y="{PAD_TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#ddd"/>',
    ]
    for fraction in (0, 0.5, 1):
        value = top * fraction
        parts.append(
            f'<text x="{PAD_LEFT - 4}" y="{y(value) + 4:.1f}" text-anchor="end" font-size="10">{value:g}</text>'
        )
    for i, label in enumerate(labels):
        if i % tick_every == 0:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - 6}" text-anchor="middle" font-size="10">{escape(label)}</text>'
            )
    for number, (name, values) in enumerate(series.items()):
        colour = COLOURS.get(name, "#111")
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" points="{points}"/>')
        lx = PAD_LEFT + number * 112
        parts.append(f'<rect x="{lx}" y="{height + 6}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 14}" y="{height + 15}" font-size="11">{escape(name)} ({sum(values):,})</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text above is escaped)


def bar_chart(*, title, items, width=640, bar_height=18, colour="#2563eb"):
    """Horizontal bars for [(label, value)], longest first as given."""
    peak = max([1, *(value for _label, value in items)])
    label_w = width * 0.55
    height = max(1, len(items)) * (bar_height + 6) + 4
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    if not items:
        parts.append(f'<text x="4" y="{bar_height}" font-size="12" fill="#666">nothing in this period</text>')
    for row, (label, value) in enumerate(items):
        top = 4 + row * (bar_height + 6)
        length = (width - label_w - 60) * value / peak
        short = label if len(label) <= 70 else label[:69] + "…"
        parts.append(f'<text x="4" y="{top + bar_height - 5}" font-size="11">{escape(short)}</text>')
        parts.append(f'<rect x="{label_w}" y="{top}" width="{length:.1f}" height="{bar_height}" fill="{colour}"/>')
        parts.append(f'<text x="{label_w + length + 4:.1f}" y="{top + bar_height - 5}" font-size="11">{value:,}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text above is escaped)


def meter(*, title, value, limit, unit="/s", width=640, height=28):
    """A bar of `value` against `limit` (no limit: the bar is the value alone, grey)."""
    full = limit if limit else max(value, 1)
    length = (width - 160) * min(value / full, 1) if full else 0
    colour = "#dc2626" if limit and value >= limit * 0.9 else "#16a34a" if limit else "#6b7280"
    limit_text = f"limit {limit:g}{unit}" if limit else "no limit set"
    return mark_safe(  # noqa: S308 (the only text is escaped)
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'<rect x="0" y="4" width="{width - 160}" height="{height - 8}" fill="#eee"/>'
        f'<rect x="0" y="4" width="{length:.1f}" height="{height - 8}" fill="{colour}"/>'
        f'<text x="{width - 154}" y="{height - 9}" font-size="12">'
        f"{value:.2f}{escape(unit)} ({escape(limit_text)})</text>"
        "</svg>"
    )
