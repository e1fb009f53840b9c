"""Prometheus counters of the accounts app (see notifications/metrics.py for multiprocess mode)."""

from prometheus_client import Counter

RATELIMIT_REFUSALS = Counter("mailsite_ratelimit_refusals", "Requests refused by a rate limit.", ["action"])
