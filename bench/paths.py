"""7. The paths real mail takes, beside the peers a user would pick instead, in one run.

Per repetition (three, interleaved), on one STARTTLS sink with the same messages:
  - the limit: a bare smtplib loop on one connection; and one connection per message;
  - mailsite, send() per message, each in its own transaction (every flow), one worker process:
    solo (one connection), and `-P threads -c 4`, its best settings (post-office's best also
    sends from threads in one process);
  - mailsite, one send_messages() batch, one solo worker;
  - django-post-office (defaults and best settings), django-mailer, django-celery-email, each from
    its own pinned virtualenv, one delivering process each.
Ratios are taken within each repetition; the table shows their medians. Rates are measured at the
sink from the first arrival to the last, so no system's start-up counts.

Then: the request-side cost of email_send() (a code email, its own transaction), and send() per
message under a server that takes 50 ms a message, one worker `-P threads` at concurrency 1, 8, 32.
"""

import statistics
import time

from django.db import transaction

from . import peers
from .core import Result, percentile
from .environment import state_reset
from .mail import messages_build
from .procs import Sink, Worker, start_all
from .throughput import smtplib_rate

FULL = 5000
PER_CONNECTION_FULL = 1000
REPETITIONS = 3
REQUESTS_FULL = 1000
SLOW_SERVER = 0.05
CONCURRENCY = (1, 8, 32)
SLOW_PER_THREAD_FULL = 60  # messages per thread under the slow server
SLOW_CHUNK = 2  # rows a thread claims at a time when the server is slow (NOTIFICATIONS_CHUNK_SIZE)
BEST_THREADS = 4  # one worker process, -P threads: each thread's work overlaps the others' waits


def queue_by_send(messages):
    """What flows do: one send() per message, each in its own transaction (doorbell included)."""
    for message in messages:
        with transaction.atomic():
            message.send()


def mailsite_rate(ctx, sink, messages, *, per_message, name, pool="solo", concurrency=1, **env):
    """Queue `messages` (no worker running), then one worker drains them: emails/s at the sink."""
    state_reset(ctx.env)
    if per_message:
        queue_by_send(messages)
    else:
        with transaction.atomic():
            from django.core.mail import mailers

            mailers.default.send_messages(messages)
    before = sink.count()
    worker = Worker(ctx.workdir, ctx.worker_env(sink, **env), name=name, pool=pool, concurrency=concurrency)
    try:
        start_all([worker])
        arrivals = sink.wait_for(before + len(messages), timeout=120 + len(messages) / 5)
    except TimeoutError as error:
        raise TimeoutError(f"{error}\nworker log:\n{worker.log()}") from None
    finally:
        worker.stop()
    return peers.span_rate(arrivals[before : before + len(messages)])


def request_cost(ctx, count):
    """Milliseconds per email_send() of a code email, each in its own transaction, broker live."""
    from notifications.services import email_send

    state_reset(ctx.env)
    timings = []
    for n in range(count):
        started = time.perf_counter()
        with transaction.atomic():
            email_send(
                template="code",
                to=f"req-{n}@bench.example",
                context={"code": f"{n:06d}", "purpose": "signup", "minutes": 10},
                sensitive=True,
                redact=[f"{n:06d}"],
            )
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def repetition(ctx, sink, messages, per_connection):
    rates = {
        "limit": smtplib_rate(sink, messages, reuse_connection=True),
        "per_connection": smtplib_rate(sink, messages[:per_connection], reuse_connection=False),
        "send_per_message": mailsite_rate(ctx, sink, messages, per_message=True, name="paths-send"),
        "send_per_message_threads": mailsite_rate(
            ctx, sink, messages, per_message=True, name="paths-send-threads", pool="threads", concurrency=BEST_THREADS
        ),
        "send_messages_batch": mailsite_rate(ctx, sink, messages, per_message=False, name="paths-batch"),
    }
    for peer in peers.PEERS:
        rates[peer] = peers.peer_rate(ctx, sink, peer, len(messages))
    return rates


def run(ctx):
    count = ctx.size(FULL, minimum=50)
    per_connection = ctx.size(PER_CONNECTION_FULL, minimum=20)
    result = Result(
        "paths",
        f"7. Paths and peers: {count:,} messages of ~3 KB, one worker process each, STARTTLS, medians of {REPETITIONS}",
        goal="send() per message, one worker process, >= 70% of the smtplib limit and >= 2x post-office's best; "
        "32 threads >= 15x one "
        "under a 50 ms server; email_send() <= 3.6 ms",
    )
    messages = messages_build(count)
    sink = Sink(ctx.workdir, name="paths-sink", tls=ctx.certificate, env=ctx.env.child()).start().wait_ready()
    try:
        reps = [repetition(ctx, sink, messages, per_connection) for _ in range(REPETITIONS)]
    finally:
        sink.stop()
    labels = {
        "limit": "raw smtplib, one connection (the limit)",
        "per_connection": f"raw smtplib, a connection per message ({per_connection:,})",
        "send_per_message": "mailsite, send() per message (every real flow), solo worker",
        "send_per_message_threads": f"mailsite, send() per message, one worker -P threads -c {BEST_THREADS} (best)",
        "send_messages_batch": "mailsite, one send_messages() batch",
        **{peer: label for peer, (_venv, label) in peers.PEERS.items()},
    }
    medians = {}
    for key, label in labels.items():
        rate = statistics.median(rep[key] for rep in reps)
        share = statistics.median(rep[key] / rep["limit"] for rep in reps)
        medians[key] = {"per_s": round(rate, 1), "of_limit": round(share, 3)}
        result.row(f"{label}: emails/s, share of the limit", f"{rate:,.0f} / {share:.2f}")
    over_best = statistics.median(rep["send_per_message_threads"] / rep["postoffice-best"] for rep in reps)
    solo_over_best = statistics.median(rep["send_per_message"] / rep["postoffice-best"] for rep in reps)
    result.row(
        "mailsite best / post-office best (solo worker / post-office best)",
        f"{over_best:.2f} ({solo_over_best:.2f})",
        "x",
    )

    timings = request_cost(ctx, ctx.size(REQUESTS_FULL, minimum=50))
    p50, p99 = percentile(timings, 50), percentile(timings, 99)
    result.row("email_send() in its own transaction: p50 / p99", f"{p50:.2f} / {p99:.2f}", "ms")

    slow = Sink(ctx.workdir, name="paths-slow-sink", delay=SLOW_SERVER, env=ctx.env.child()).start().wait_ready()
    threaded = {}
    try:
        for threads in CONCURRENCY:
            batch = messages_build(ctx.size(SLOW_PER_THREAD_FULL * threads, minimum=4 * threads), prefix=f"t{threads}")
            threaded[threads] = mailsite_rate(
                ctx, slow, batch, per_message=True, name=f"paths-threads{threads}", pool="threads",
                concurrency=threads, NOTIFICATIONS_CHUNK_SIZE=SLOW_CHUNK,
            )  # fmt: skip
            result.row(f"{SLOW_SERVER * 1000:.0f} ms server, -P threads -c {threads}", threaded[threads], "emails/s")
    finally:
        slow.stop()
    speedup = threaded[32] / threaded[1]
    result.row("32 threads / 1 thread", speedup, "x", fmt="{:.1f}")

    ours = medians["send_per_message_threads"]["of_limit"]
    result.numbers = {
        "messages": count,
        "repetitions": [{key: round(value, 1) for key, value in rep.items()} for rep in reps],
        "medians": medians,
        "send_per_message_over_postoffice_best": round(over_best, 2),
        "solo_send_per_message_over_postoffice_best": round(solo_over_best, 2),
        "best_threads": BEST_THREADS,
        "email_send_ms": {"p50": round(p50, 2), "p99": round(p99, 2), "requests": len(timings)},
        "slow_server_threads_per_s": {str(k): round(v, 1) for k, v in threaded.items()},
        "slow_server_speedup_32": round(speedup, 1),
        "slow_server_chunk_size": SLOW_CHUNK,
    }
    goals = {
        ">= 70% of the limit": ours >= 0.70,
        ">= 2x post-office best": over_best >= 2.0,
        "32 threads >= 15x": speedup >= 15,
        "email_send() <= 3.6 ms": p50 <= 3.6,
    }
    missed = [goal for goal, met in goals.items() if not met]
    if missed:
        result.notes.append("missed: " + "; ".join(missed))
    result.headline = (
        f"send() per message {medians['send_per_message_threads']['per_s']:,.0f}/s = {ours:.0%} of the limit "
        f"(-P threads -c {BEST_THREADS}; solo {medians['send_per_message']['of_limit']:.0%}), "
        f"{over_best:.1f}x post-office best; 32 threads {speedup:.1f}x one under a 50 ms server; "
        f"email_send() p50 {p50:.2f} ms"
    )
    result.met = not missed
    return result
