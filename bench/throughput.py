"""2. Delivery throughput: queued outbox rows through one worker to an SMTP server over STARTTLS,
beside the limit (a plain smtplib loop on one connection) and one connection per message.

Every figure is messages / (last arrival at the server - start), measured at the server.
"""

import email.policy
import smtplib
import ssl
import time

from .core import Result, rate
from .environment import state_reset
from .mail import messages_build, rows_enqueue, rows_insert
from .procs import Sink, Worker, start_all

FULL = 5000
PER_CONNECTION_FULL = 1000  # a TLS handshake per message is slow; its rate needs fewer messages
THREADS = 4  # one worker process at its best settings, as benchmark 7 (paths) runs it


def outbox_rate(ctx, sink, messages, *, workers=1, name="worker", pool="solo", concurrency=1):
    """Rows queued first, workers started, then the tasks published: emails/second."""
    state_reset(ctx.env)
    by_queue = rows_insert(messages)
    processes = [
        Worker(ctx.workdir, ctx.worker_env(sink), name=f"{name}-{i}", pool=pool, concurrency=concurrency)
        for i in range(workers)
    ]
    try:
        start_all(processes)
        before = sink.count()
        started = time.time()
        rows_enqueue(by_queue)
        try:
            arrivals = sink.wait_for(before + len(messages), timeout=120 + len(messages) / 10)
        except TimeoutError as error:
            raise TimeoutError(f"{error}\nlast worker log:\n{processes[0].log()}") from None
        return rate(len(messages), arrivals[before + len(messages) - 1][0] - started)
    finally:
        for process in processes:
            process.stop()


def smtplib_rate(sink, messages, *, reuse_connection):
    """The same messages, pre-built, sent by a bare smtplib loop: the ceiling for any sender."""
    context = ssl.create_default_context(cafile=str(sink.tls.cert))
    prepared = [(m.from_email, m.recipients(), m.message(policy=email.policy.SMTP).as_bytes()) for m in messages]
    before = sink.count()
    started = time.time()
    if reuse_connection:
        with smtplib.SMTP("localhost", sink.port) as smtp:
            smtp.starttls(context=context)
            for sender, recipients, data in prepared:
                smtp.sendmail(sender, recipients, data)
    else:
        for sender, recipients, data in prepared:
            with smtplib.SMTP("localhost", sink.port) as smtp:
                smtp.starttls(context=context)
                smtp.sendmail(sender, recipients, data)
    arrivals = sink.wait_for(before + len(prepared), timeout=60)
    return rate(len(prepared), arrivals[before + len(prepared) - 1][0] - started)


def run(ctx):
    count = ctx.size(FULL, minimum=20)
    per_connection_count = ctx.size(PER_CONNECTION_FULL, minimum=10)
    result = Result(
        "throughput",
        f"2. Delivery throughput: {count:,} queued messages, one worker, SMTP with STARTTLS",
        goal="outbox, one worker process, >= 70% of the smtplib limit and >= 3x one connection per message",
    )
    messages = messages_build(count)
    sink = Sink(ctx.workdir, name="tls-sink", tls=ctx.certificate, env=ctx.env.child()).start().wait_ready()
    try:
        solo = outbox_rate(ctx, sink, messages)
        outbox = outbox_rate(ctx, sink, messages, name="threads", pool="threads", concurrency=THREADS)
        limit = smtplib_rate(sink, messages, reuse_connection=True)
        per_message = smtplib_rate(sink, messages[:per_connection_count], reuse_connection=False)
    finally:
        sink.stop()
    of_limit, over_per_message = outbox / limit, outbox / per_message
    result.row("outbox -> 1 worker (solo) -> SMTP", solo, "emails/s")
    result.row(f"outbox -> 1 worker (-P threads -c {THREADS}) -> SMTP", outbox, "emails/s")
    result.row("limit: smtplib loop, one connection", limit, "emails/s")
    result.row(f"smtplib, one connection per message ({per_connection_count:,})", per_message, "emails/s")
    result.row("outbox / limit", of_limit * 100, "%", fmt="{:.0f}")
    result.row("outbox / one connection per message", over_per_message, "x", fmt="{:.1f}")
    result.numbers = {
        "messages": count,
        "per_connection_messages": per_connection_count,
        "outbox_per_s": round(outbox, 1),
        "outbox_threads": THREADS,
        "outbox_solo_per_s": round(solo, 1),
        "solo_fraction_of_limit": round(solo / limit, 3),
        "limit_per_s": round(limit, 1),
        "per_connection_per_s": round(per_message, 1),
        "fraction_of_limit": round(of_limit, 3),
        "times_per_connection": round(over_per_message, 2),
    }
    result.headline = (
        f"{outbox:,.0f} emails/s (-P threads -c {THREADS}; solo {solo:,.0f}) = {of_limit:.0%} of the limit "
        f"({limit:,.0f}/s) and {over_per_message:.1f}x one connection per message ({per_message:,.0f}/s)"
    )
    result.met = of_limit >= 0.70 and over_per_message >= 3.0
    return result
