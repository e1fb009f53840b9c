"""What every benchmark shares: the run's context, its result, and a few statistics."""

import math
from dataclasses import dataclass, field
from pathlib import Path

from .environment import Environment


@dataclass
class Context:
    env: Environment
    scale: float
    workdir: Path
    _certificate: object = None

    def size(self, full, minimum=1):
        """`full` (the issue's size) shrunk by --scale, never below `minimum`."""
        return max(minimum, round(full * self.scale))

    @property
    def certificate(self):
        if self._certificate is None:
            from .mail import certificate_create

            self._certificate = certificate_create(self.workdir)
        return self._certificate

    def worker_env(self, sink, **extra):
        """A worker delivering to `sink` over SMTP (trusting its certificate if it has one)."""
        extra.setdefault("EMAIL_PROVIDER", "smtp")
        extra.setdefault("EMAIL_URL", sink.url)
        if sink.tls:
            extra.setdefault("SSL_CERT_FILE", sink.tls.cert)
        return self.env.child(**extra)


@dataclass
class Result:
    key: str
    title: str
    goal: str
    met: bool | None = None  # None: no goal, or not measured
    headline: str = ""  # the figures in one line, for the summary table
    rows: list = field(default_factory=list)  # [(label, formatted value)]
    numbers: dict = field(default_factory=dict)  # the same, machine-readable
    notes: list = field(default_factory=list)
    error: str | None = None

    def row(self, label, value, unit="", fmt="{:,.1f}"):
        text = fmt.format(value) if isinstance(value, (int, float)) else str(value)
        self.rows.append((label, f"{text} {unit}".strip()))

    def as_dict(self):
        return {
            "title": self.title,
            "goal": self.goal,
            "met": self.met,
            "headline": self.headline,
            "numbers": self.numbers,
            "rows": [list(r) for r in self.rows],
            "notes": self.notes,
            **({"error": self.error} if self.error else {}),
        }


def percentile(values, p):
    """The p-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def rate(count, seconds):
    return count / seconds if seconds > 0 else math.nan
