"""Prometheus counters of the accounts app (see notifications/ops/metrics.py for multiprocess mode).

prometheus-client is the `prometheus` extra; without it the counters record nothing."""

try:
    from prometheus_client import Counter
except ImportError:  # the `prometheus` extra is not installed

    class Counter:
        def __init__(self, name, documentation, labelnames=()):
            pass

        def labels(self, *values, **labels):
            return self

        def inc(self, amount=1):
            pass


RATELIMIT_REFUSALS = Counter("mailsite_ratelimit_refusals", "Requests refused by a rate limit.", ["action"])
