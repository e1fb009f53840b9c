"""Stand-ins for prometheus-client's Counter and Histogram when the `prometheus` extra is not
installed: the same calls (labels, inc, observe), recording nothing."""


class Counter:
    def __init__(self, name, documentation, labelnames=(), **kwargs):
        self.name = name

    def labels(self, *values, **labels):
        return self

    def inc(self, amount=1):
        pass

    def observe(self, amount):
        pass


Histogram = Counter
