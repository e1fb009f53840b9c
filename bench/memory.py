"""5. Memory: the worker's resident set while it delivers a long run of messages; its peak
(VmHWM) and its growth from the first fifth of the run (10,000 of 50,000) to the end.
"""

import time

from .core import Result
from .environment import state_reset
from .mail import messages_build, rows_enqueue, rows_insert
from .procs import Sink, Worker

FULL = 50_000
BATCH = 5_000  # messages built and stored at a time, so the bench itself stays small
MB = 1024 * 1024


def run(ctx):
    count = ctx.size(FULL, minimum=100)
    early = count // 5
    result = Result(
        "memory",
        f"5. Memory: one worker delivering {count:,} messages",
        goal=f"peak RSS < 250 MB and growth < 10% from message {early:,} to {count:,}",
    )
    state_reset(ctx.env)
    by_queue = {}
    for start in range(0, count, BATCH):
        inserted = rows_insert(messages_build(min(BATCH, count - start), start=start))
        for queue, ids in inserted.items():
            by_queue.setdefault(queue, []).extend(ids)
    sink = Sink(ctx.workdir, name="memory-sink", tls=ctx.certificate, env=ctx.env.child()).start().wait_ready()
    worker = Worker(ctx.workdir, ctx.worker_env(sink), name="memory-worker")
    try:
        worker.start().wait_ready()
        idle, _ = worker.memory()
        rows_enqueue(by_queue)
        at_early = peak_sampled = 0
        deadline = time.monotonic() + 300 + count / 10
        while (delivered := sink.count()) < count:
            rss, _ = worker.memory()
            peak_sampled = max(peak_sampled, rss)
            if not at_early and delivered >= early:
                at_early = rss
            if time.monotonic() > deadline:
                raise TimeoutError(f"{delivered} of {count} delivered in time\n{worker.log()}")
            time.sleep(0.2)
        at_end, hwm = worker.memory()
    finally:
        worker.stop()
        sink.stop()
    at_early = at_early or at_end
    growth = (at_end - at_early) / at_early
    result.row("RSS when ready (idle)", idle / MB, "MB")
    result.row(f"RSS after {early:,} messages", at_early / MB, "MB")
    result.row(f"RSS after {count:,} messages", at_end / MB, "MB")
    result.row("peak RSS (VmHWM)", hwm / MB, "MB")
    result.row(f"growth {early:,} -> {count:,}", growth * 100, "%", fmt="{:+.1f}")
    result.numbers = {
        "messages": count,
        "idle_mb": round(idle / MB, 1),
        "early_at": early,
        "early_mb": round(at_early / MB, 1),
        "end_mb": round(at_end / MB, 1),
        "peak_mb": round(hwm / MB, 1),
        "peak_sampled_mb": round(peak_sampled / MB, 1),
        "growth": round(growth, 4),
    }
    result.headline = f"peak {hwm / MB:,.0f} MB; {at_early / MB:,.0f} -> {at_end / MB:,.0f} MB ({growth:+.1%})"
    result.met = hwm < 250 * MB and growth < 0.10
    return result
