"""3. Priority isolation: with a bulk backlog queued, how long an urgent message (a verification
code) takes from `send()` to arrival at the SMTP server. Measured with a single default worker
(consuming every queue) and with the production layout (one worker per queue), side by side.
"""

import time

from .core import Result, percentile
from .environment import state_reset
from .mail import messages_build, rows_enqueue, rows_insert
from .procs import Sink, Worker, start_all

BULK_FULL = 20_000
URGENT = 20
URGENT_INTERVAL = 0.25  # seconds between two codes
LAYOUTS = {
    "single default worker (all queues)": [None],
    "one worker per queue": [["email-urgent"], ["email-bulk", "default"]],
}


def urgent_latencies(ctx, sink, bulk, queues_per_worker, codes):
    """Latencies (s) of `codes` codes sent while `bulk` waits in the queue; and the bulk backlog
    left when the last code arrived (to show the codes really had to get past it)."""
    state_reset(ctx.env)
    by_queue = rows_insert(bulk)
    workers = [
        Worker(ctx.workdir, ctx.worker_env(sink), name=f"priority-{i}", queues=queues)
        for i, queues in enumerate(queues_per_worker)
    ]
    try:
        start_all(workers)
        before = sink.count()
        rows_enqueue(by_queue)
        sink.wait_for(before + 10, timeout=120)  # bulk delivery is under way (mid-chunk, not at a chunk's end)
        sent_at = {}
        for message in messages_build(codes, prefix="urgent", category="urgent", sensitive=True):
            sent_at[message.to[0]] = time.time()
            message.send()  # the project's path: outbox row, on-commit publish to email-urgent
            time.sleep(URGENT_INTERVAL)
        deadline = time.monotonic() + 120
        while True:
            arrived = {rcpt: stamp for stamp, rcpt in sink.arrivals()[before:] if rcpt in sent_at}
            if len(arrived) == len(sent_at) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        last = max(arrived.values(), default=time.time())
        bulk_done = sum(1 for stamp, rcpt in sink.arrivals()[before:] if rcpt.startswith("bulk-") and stamp <= last)
    finally:
        for worker in workers:
            worker.stop()
    latencies = [arrived[rcpt] - sent_at[rcpt] for rcpt in arrived]
    return latencies, len(sent_at) - len(arrived), len(bulk) - bulk_done


def run(ctx):
    bulk_count = ctx.size(BULK_FULL, minimum=50)
    codes = ctx.size(URGENT, minimum=4)
    result = Result(
        "priority",
        f"3. Priority isolation: {codes} codes sent while {bulk_count:,} bulk messages are queued",
        goal="code delivery latency p99 < 2 s",
    )
    bulk = messages_build(bulk_count)
    sink = Sink(ctx.workdir, name="priority-sink", tls=ctx.certificate, env=ctx.env.child()).start().wait_ready()
    met = True
    headline = []
    try:
        for label, layout in LAYOUTS.items():
            latencies, lost, backlog = urgent_latencies(ctx, sink, bulk, layout, codes)
            p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
            result.row(f"{label}: p50", p50 * 1000, "ms", fmt="{:,.0f}")
            result.row(f"{label}: p99", p99 * 1000, "ms", fmt="{:,.0f}")
            result.row(f"{label}: bulk still queued at the last code", backlog, "", fmt="{:,}")
            result.numbers[label] = {
                "p50_ms": round(p50 * 1000, 1),
                "p99_ms": round(p99 * 1000, 1),
                "max_ms": round(max(latencies, default=0) * 1000, 1),
                "codes_not_arrived": lost,
                "bulk_backlog_at_last_code": backlog,
            }
            if lost:
                result.notes.append(f"{label}: {lost} code(s) had not arrived after 120 s")
            if backlog == 0:
                result.notes.append(f"{label}: the bulk backlog drained before the last code (scale too small)")
            met = met and not lost and p99 < 2.0
            short = "single worker" if layout == [None] else "worker per queue"
            headline.append(f"{short}: p50 {p50 * 1000:,.0f} ms, p99 {p99 * 1000:,.0f} ms")
    finally:
        sink.stop()
    result.numbers["bulk_messages"] = bulk_count
    result.numbers["codes"] = codes
    result.headline = "; ".join(headline)
    result.met = met
    return result
