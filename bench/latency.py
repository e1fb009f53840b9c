"""1. Request latency versus mail-server latency: POST /accounts/code/ on a real web process (gunicorn)
with a real worker delivering to the SMTP server, while that server answers at once or waits 2 s
per message; beside it the naive design that sends inside the request (bench/naive.py).

The configurations are interleaved in rounds (server delay switched between blocks), so drifting
load on a shared machine spreads over all of them alike.
"""

import http.client
import json
import secrets
import time

from .core import Result, percentile
from .environment import state_reset
from .procs import Gunicorn, Sink, Worker, start_all

REQUESTS_FULL = 400  # per configuration
NAIVE_SLOW_FULL = 40  # the naive design with a slow server takes 2 s a request
ROUNDS = 8
WARMUP = 5
SMTP_DELAY = 2.0
CODE_PATH = "/accounts/code/"
NAIVE_PATH = "/naive/code/"


class Client:
    """Times one POST at a time, JSON in and out, with a CSRF cookie and header as a browser would."""

    def __init__(self, port, path):
        self.port = port
        self.path = path
        self.token = secrets.token_hex(16)
        self.sent = 0

    def post(self):
        self.sent += 1
        body = json.dumps({"email": f"lat-{self.port}-{self.sent}@bench.example", "purpose": "signup"})
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Cookie": f"csrftoken={self.token}",
            "X-CSRFToken": self.token,
        }
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request("POST", self.path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        finally:
            conn.close()
        elapsed = time.perf_counter() - started
        if response.status != 202:
            raise RuntimeError(f"POST {self.path} answered {response.status}: {payload[:500]!r}")
        return elapsed

    def block(self, count):
        return [self.post() for _ in range(count)]


def run(ctx):
    count = ctx.size(REQUESTS_FULL, minimum=2)
    naive_slow = ctx.size(NAIVE_SLOW_FULL, minimum=1)
    rounds = ROUNDS if naive_slow >= ROUNDS else 1
    result = Result(
        "latency",
        f"1. Request latency of POST {CODE_PATH} ({count:,} requests a configuration)",
        goal=f"a {SMTP_DELAY:g} s mail server moves our p50 < 10% and our p99 < 20%",
    )
    state_reset(ctx.env)
    sink = Sink(ctx.workdir, name="latency-sink", env=ctx.env.child()).start().wait_ready()
    mail_env = ctx.worker_env(sink, ACCOUNTS_RATE_LIMITS_ENABLED="false")
    web = Gunicorn(ctx.workdir, mail_env, "mailsite.wsgi:application", name="web")
    naive = Gunicorn(ctx.workdir, mail_env, "bench.naive:application", name="naive-web")
    worker = Worker(ctx.workdir, mail_env, name="latency-worker")
    ours, theirs = Client(web.port, CODE_PATH), Client(naive.port, NAIVE_PATH)
    plan = [  # (key, client, server delay, requests, worker paused)
        ("ours_fast", ours, 0.0, count, False),
        ("ours_slow", ours, SMTP_DELAY, count, False),
        ("ours_paused", ours, 0.0, count, True),  # control: no delivery sharing the CPUs
        ("naive_fast", theirs, 0.0, count, False),
        ("naive_slow", theirs, SMTP_DELAY, naive_slow, False),
    ]
    samples = {key: [] for key, *_ in plan}
    try:
        start_all([web, naive, worker])
        ours.block(WARMUP)
        theirs.block(WARMUP)
        for round_no in range(rounds):
            for key, client, delay, total, paused in plan:
                sink.set_delay(delay)
                share = total // rounds + (1 if round_no < total % rounds else 0)
                if paused:
                    worker.pause()
                try:
                    samples[key].extend(client.block(share))
                finally:
                    worker.resume()
        sink.set_delay(0.0)
        delivered = sink.count()
    finally:
        for process in (web, naive, worker, sink):
            process.stop()

    stats = {key: (percentile(v, 50) * 1000, percentile(v, 99) * 1000, len(v)) for key, v in samples.items()}
    labels = {
        "ours_fast": "outbox, server answers at once",
        "ours_slow": f"outbox, server waits {SMTP_DELAY:g} s",
        "ours_paused": "outbox, worker paused (control)",
        "naive_fast": "naive (send in request), at once",
        "naive_slow": f"naive (send in request), waits {SMTP_DELAY:g} s",
    }
    for key, (p50, p99, n) in stats.items():
        result.row(f"{labels[key]}: p50 / p99 (n={n})", f"{p50:,.1f} / {p99:,.1f}", "ms")
    p50_move = (stats["ours_slow"][0] - stats["ours_fast"][0]) / stats["ours_fast"][0]
    p99_move = (stats["ours_slow"][1] - stats["ours_fast"][1]) / stats["ours_fast"][1]
    result.row(f"outbox: change with a {SMTP_DELAY:g} s server, p50 / p99", f"{p50_move:+.1%} / {p99_move:+.1%}")
    result.numbers = {
        key: {"p50_ms": round(p50, 2), "p99_ms": round(p99, 2), "requests": n} for key, (p50, p99, n) in stats.items()
    }
    result.numbers.update(
        smtp_delay_s=SMTP_DELAY,
        p50_change=round(p50_move, 4),
        p99_change=round(p99_move, 4),
        delivered_during_run=delivered,
    )
    fast, slow = stats["ours_fast"], stats["ours_slow"]
    result.headline = (
        f"outbox p50 {fast[0]:,.0f} -> {slow[0]:,.0f} ms ({p50_move:+.0%}), p99 {fast[1]:,.0f} -> {slow[1]:,.0f} ms "
        f"({p99_move:+.0%}) with a {SMTP_DELAY:g} s server; send-in-request p50 {stats['naive_fast'][0]:,.0f} -> "
        f"{stats['naive_slow'][0]:,.0f} ms"
    )
    paused = stats["ours_paused"][0]
    if p50_move < 0 and paused < stats["ours_fast"][0]:
        result.notes.append(
            "the slow server made our requests faster: while it answers at once, the worker delivers alongside "
            f"the requests and shares the CPUs with them (with the worker paused, p50 is {paused:,.1f} ms)"
        )
    result.met = abs(p50_move) < 0.10 and abs(p99_move) < 0.20
    return result
