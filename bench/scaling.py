"""6. Scaling: delivery throughput with one and with two worker processes, same messages, same
SMTP server (STARTTLS), measured one after the other in the same run.
"""

import os

from .core import Result
from .mail import messages_build
from .procs import Sink
from .throughput import outbox_rate

FULL = 5000


def run(ctx):
    count = ctx.size(FULL, minimum=20)
    result = Result(
        "scaling",
        f"6. Scaling: {count:,} queued messages through 1 and 2 worker processes",
        goal="",  # the issue asks for the figures, with no target
    )
    messages = messages_build(count)
    sink = Sink(ctx.workdir, name="scaling-sink", tls=ctx.certificate, env=ctx.env.child()).start().wait_ready()
    try:
        rates = {
            workers: outbox_rate(ctx, sink, messages, workers=workers, name=f"scaling{workers}") for workers in (1, 2)
        }
    finally:
        sink.stop()
    result.row("1 worker", rates[1], "emails/s")
    result.row("2 workers", rates[2], "emails/s")
    result.row("speed-up", rates[2] / rates[1], "x", fmt="{:.2f}")
    result.numbers = {
        "messages": count,
        "one_worker_per_s": round(rates[1], 1),
        "two_workers_per_s": round(rates[2], 1),
        "speedup": round(rates[2] / rates[1], 2),
        "cpus": len(os.sched_getaffinity(0)),
    }
    result.headline = f"1 worker {rates[1]:,.0f}/s, 2 workers {rates[2]:,.0f}/s ({rates[2] / rates[1]:.2f}x)"
    result.notes.append(
        f"the SMTP server, PostgreSQL and Redis run on the same {len(os.sched_getaffinity(0))} CPUs as the workers"
    )
    return result
