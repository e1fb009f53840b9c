"""8. Timing parity: does the response time of sign-up, reset, resend and the code requests tell a
taken address from a free one? Real HTTP requests to gunicorn (PostgreSQL, Redis, the project's
Argon2 hasher), a taken and a free address interleaved one by one, so drifting load on a shared
machine falls on both alike; a worker carries the requests out meanwhile, as in production.

Reported, not asserted: the ratio of medians (taken / free) per endpoint, goal within +-10%.
"""

import http.client
import secrets
import statistics
import time
from urllib.parse import urlencode

from .core import Result
from .environment import state_reset
from .procs import Gunicorn, Sink, Worker, start_all

REQUESTS_FULL = 200  # per address and endpoint
WARMUP = 3
PASSWORD = "correct horse battery staple"


class Browser:
    """One POST at a time with a CSRF cookie, as a form in a browser sends it."""

    def __init__(self, port):
        self.port = port
        self.token = secrets.token_hex(16)

    def post(self, path, fields, *, json=False):
        headers = {"Cookie": f"csrftoken={self.token}"}
        if json:
            import json as json_module

            body = json_module.dumps(fields)
            headers.update({"Content-Type": "application/json", "Accept": "application/json"})
            headers["X-CSRFToken"] = self.token
        else:
            body = urlencode({**fields, "csrfmiddlewaretoken": self.token})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        started = time.perf_counter()
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        finally:
            conn.close()
        elapsed = time.perf_counter() - started
        if response.status not in (202, 302):
            raise RuntimeError(f"POST {path} answered {response.status}: {payload[:300]!r}")
        return elapsed


def signup(browser, email, n):
    fields = {"email": email, "username": f"p{n}_{secrets.token_hex(4)}", "password1": PASSWORD, "password2": PASSWORD}
    return browser.post("/accounts/signup/", fields)


ENDPOINTS = {  # name: (post, the taken address's kind)
    "signup": (signup, "confirmed"),
    "reset": (lambda b, email, n: b.post("/accounts/password/reset/", {"email": email}), "confirmed"),
    "resend": (lambda b, email, n: b.post("/accounts/confirm/resend/", {"email": email}), "unconfirmed"),
    "code_signup": (
        lambda b, email, n: b.post("/accounts/code/?purpose=signup", {"email": email, "purpose": "signup"}, json=True),
        "confirmed",
    ),
    "code_login": (lambda b, email, n: b.post("/accounts/login/code/", {"email": email}), "confirmed"),
}


def accounts_create(count):
    """`count` confirmed and `count` unconfirmed accounts, hashed by the project's hasher."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    password = make_password(PASSWORD)
    users = []
    for n in range(count):
        for kind, confirmed in (("confirmed", timezone.now()), ("unconfirmed", None)):
            users.append(
                get_user_model()(
                    username=f"{kind}{n}",
                    email=f"{kind}{n}@bench.example",
                    password=password,
                    email_confirmed_at=confirmed,
                )
            )
    get_user_model().objects.bulk_create(users)


def run(ctx):
    count = ctx.size(REQUESTS_FULL, minimum=5)
    result = Result(
        "parity",
        f"8. Timing parity, taken / free address ({count:,} requests each, interleaved)",
        goal="ratio of medians within +-10% for every endpoint",
    )
    state_reset(ctx.env)
    accounts_create(count + WARMUP)
    sink = Sink(ctx.workdir, name="parity-sink", env=ctx.env.child()).start().wait_ready()
    env = ctx.worker_env(sink, ACCOUNTS_RATE_LIMITS_ENABLED="false")
    web = Gunicorn(ctx.workdir, env, "mailsite.wsgi:application", name="parity-web", workers=1)
    worker = Worker(ctx.workdir, env, name="parity-worker")
    samples = {name: {"taken": [], "free": []} for name in ENDPOINTS}
    try:
        start_all([web, worker])
        browser = Browser(web.port)
        for n in range(count + WARMUP):
            for name, (post, kind) in ENDPOINTS.items():
                # A fresh address each time (each taken one a different account), so no request
                # meets another's state; which goes first alternates.
                pair = [("taken", f"{kind}{n}@bench.example"), ("free", f"free-{name}-{n}@bench.example")]
                for label, email in pair if n % 2 else reversed(pair):
                    elapsed = post(browser, email, n)
                    if n >= WARMUP:
                        samples[name][label].append(elapsed)
    finally:
        for process in (web, worker, sink):
            process.stop()

    worst = 0.0
    for name, found in samples.items():
        taken, free = statistics.median(found["taken"]) * 1000, statistics.median(found["free"]) * 1000
        ratio = taken / free
        worst = max(worst, abs(ratio - 1))
        result.row(
            f"{name}: median taken / free (n={len(found['taken'])})", f"{taken:,.1f} / {free:,.1f} ms = {ratio:.3f}"
        )
        result.numbers[name] = {
            "taken_median_ms": round(taken, 2),
            "free_median_ms": round(free, 2),
            "ratio": round(ratio, 4),
            "requests_each": len(found["taken"]),
        }
    result.headline = ", ".join(f"{name} {result.numbers[name]['ratio']:.2f}" for name in ENDPOINTS)
    result.met = worst <= 0.10
    return result
