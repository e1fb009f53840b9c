"""The provider-wide send rate: a token bucket in Redis shared by every worker process, and
urgent mail served ahead of bulk.

The worker tests check a correctness bound, not a timing: the k-th message cannot reach the SMTP
server before the bucket has handed out k tokens, so for every k,
    k <= rate * (arrival of the k-th message - start) + burst,
where `start` is taken before the first message is enqueued (the bucket is empty of history then).
Without the limiter the messages arrive far faster and the bound fails."""

import base64
import json
import time

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.core.mail import mailers
from django.test import override_settings

from notifications.models import OutboundEmail
from notifications.outbox import delivery, throttle
from testing.fixtures import RecordingHandler, SMTPServer, free_port

from .helpers import wait_until

LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


class StampingHandler(RecordingHandler):
    """Records when each message arrived (time.monotonic())."""

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        if reply.startswith("250"):
            self.messages[-1]["at"] = time.monotonic()  # no await since the append: this is ours
        return reply


@pytest.fixture
def stamping_smtp():
    handler = StampingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield SMTPServer(handler, port, controller)
    controller.stop()


def assert_within_rate(arrivals, start, rate, burst):
    for k, at in enumerate(sorted(arrivals), start=1):
        allowed = rate * (at - start) + burst
        assert k <= allowed, f"message {k} arrived {at - start:.3f}s after start; the bucket allows {allowed:.2f}"


# ------------------------------------------------------------------------------------------------
# The bucket itself, against real Redis
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def bucket(redis_client):
    throttle.bucket_reset()
    yield
    throttle.bucket_reset()


@pytest.mark.usefixtures("bucket")
@override_settings(NOTIFICATIONS_MAX_RATE=10, NOTIFICATIONS_RATE_BURST=3)
def test_bucket_gives_its_burst_then_asks_to_wait(redis_client):
    assert [throttle.token_try("transport-x") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = throttle.token_try("transport-x")
    assert 0 < wait <= 0.1
    assert redis_client.exists("mailsite:notifications:rate:transport-x")
    assert throttle.token_try("transport-other") == 0.0  # each provider has its own bucket


@pytest.mark.usefixtures("bucket")
@override_settings(NOTIFICATIONS_MAX_RATE=1, NOTIFICATIONS_RATE_BURST=2, NOTIFICATIONS_URGENT_RESERVE=1)
def test_bulk_leaves_a_token_for_urgent_mail():
    assert throttle.token_try("t", urgent=False) == 0.0
    assert throttle.token_try("t", urgent=False) > 0  # one token left: it is urgent mail's
    assert throttle.token_try("t", urgent=True) == 0.0


@pytest.mark.usefixtures("bucket")
@override_settings(NOTIFICATIONS_MAX_RATE=10, NOTIFICATIONS_RATE_BURST=5, NOTIFICATIONS_THROTTLE_SLOWDOWN=0.5)
def test_a_throttling_answer_empties_and_slows_the_bucket():
    assert throttle.token_try("t") == 0.0
    throttle.bucket_slow("t")
    wait = throttle.token_try("t")
    assert wait > 1.5 / 10  # one token now takes twice as long as at the full rate


@override_settings(NOTIFICATIONS_MAX_RATE=0)
def test_no_rate_means_no_limit():
    assert all(throttle.token_try("t") == 0.0 for _ in range(1000))


@override_settings(CACHES=LOCMEM, NOTIFICATIONS_MAX_RATE=5, NOTIFICATIONS_RATE_BURST=2)
def test_without_redis_the_bucket_is_per_process():
    throttle.bucket_reset()
    assert [throttle.token_try("t") for _ in range(3)][:2] == [0.0, 0.0]
    assert throttle.token_try("t") > 0
    throttle.bucket_reset()


@pytest.mark.usefixtures("bucket")
@override_settings(NOTIFICATIONS_MAX_RATE=1, NOTIFICATIONS_RATE_BURST=1, NOTIFICATIONS_RATE_MAX_WAIT=0)
def test_over_the_rate_a_batch_goes_back_to_the_queue_without_counting_an_attempt(outbox, redis_client):
    for n in range(3):
        mail.send_mail(f"m{n}", "Body", "a@example.com", ["b@example.com"])
    ids = list(OutboundEmail.objects.order_by("id").values_list("pk", flat=True))

    results = delivery.deliver_many(ids)

    assert results == {ids[0]: "sent", ids[1]: delivery.DEFERRED}
    rows = {row.pk: row for row in OutboundEmail.objects.all()}
    assert rows[ids[0]].status == "sent"
    for pk in ids[1:]:
        assert rows[pk].status == "queued" and rows[pk].attempts == 0 and rows[pk].last_error == ""
    assert rows[ids[1]].next_attempt_at > rows[ids[0]].sent_at
    # One wake-up for the rest of the batch, with a countdown: a doorbell, not their ids.
    published = [json.loads(raw) for raw in redis_client.lrange("email-urgent", 0, -1)]
    assert len(published) == 1
    assert published[0]["headers"]["eta"] is not None
    args, _kwargs, _embed = json.loads(base64.b64decode(published[0]["body"]))
    assert args == ["urgent"]


# ------------------------------------------------------------------------------------------------
# Real worker processes
# ------------------------------------------------------------------------------------------------
def test_two_workers_share_one_rate(worker_factory, stamping_smtp):
    rate, burst, count = 8, 2, 30
    settings = {"NOTIFICATIONS_MAX_RATE": rate, "NOTIFICATIONS_RATE_BURST": burst}
    workers = [worker_factory(smtp_url=stamping_smtp.url, **settings) for _ in range(2)]

    start = time.monotonic()
    for n in range(count):
        mail.send_mail(f"rate {n}", "Body", "a@example.com", [f"r{n}@example.com"])  # one task each
    received = stamping_smtp.wait_for(count, timeout=60)

    assert_within_rate([m["at"] for m in received], start, rate, burst)
    assert len({m["peer"] for m in received}) == 2, "both workers should have sent some"
    wait_until(lambda: OutboundEmail.objects.filter(status="sent").count() == count, "every row recorded as sent")
    # Waiting for a token is not an attempt, and nothing failed or went twice.
    assert set(OutboundEmail.objects.values_list("attempts", flat=True)) == {1}
    assert sorted(m["rcpt_tos"][0] for m in received) == sorted(f"r{n}@example.com" for n in range(count))
    assert workers[0].proc.poll() is None and workers[1].proc.poll() is None


def test_a_worker_that_cannot_wait_requeues_and_still_delivers_everything(worker_factory, stamping_smtp):
    """With no patience for tokens, every over-rate task goes back to the queue with a countdown;
    all messages still arrive, within the rate, each on its first attempt."""
    rate, burst, count = 5, 1, 10
    settings = {"NOTIFICATIONS_MAX_RATE": rate, "NOTIFICATIONS_RATE_BURST": burst, "NOTIFICATIONS_RATE_MAX_WAIT": 0}
    worker = worker_factory(smtp_url=stamping_smtp.url, **settings)

    start = time.monotonic()
    for n in range(count):
        mail.send_mail(f"requeue {n}", "Body", "a@example.com", [f"q{n}@example.com"])
    received = stamping_smtp.wait_for(count, timeout=60)

    assert_within_rate([m["at"] for m in received], start, rate, burst)
    wait_until(lambda: OutboundEmail.objects.filter(status="sent").count() == count, "every row recorded as sent")
    assert set(OutboundEmail.objects.values_list("attempts", flat=True)) == {1}
    assert "Task notifications.tasks.outbox_drain" in worker.log()


def test_urgent_mail_overtakes_a_bulk_backlog(worker_factory, stamping_smtp):
    """The production layout: one worker per queue, one shared rate. A code sent after 300 bulk
    messages arrives while most of the backlog is still waiting."""
    settings = {"NOTIFICATIONS_MAX_RATE": 40, "NOTIFICATIONS_RATE_BURST": 4}
    worker_factory(smtp_url=stamping_smtp.url, queues="email-bulk", **settings)
    worker_factory(smtp_url=stamping_smtp.url, queues="email-urgent", **settings)

    backlog = []
    for n in range(300):
        message = mail.EmailMessage(f"digest {n}", "Body", "a@example.com", [f"bulk{n}@example.com"])
        message.outbox_category = "bulk"
        backlog.append(message)
    mailers.default.send_messages(backlog)
    stamping_smtp.wait_for(5)  # the bulk worker is busy
    mail.send_mail("Your code", "123456", "a@example.com", ["urgent@example.com"])  # urgent by default

    wait_until(lambda: any(m["rcpt_tos"] == ["urgent@example.com"] for m in stamping_smtp.messages), "the code")
    position = next(i for i, m in enumerate(stamping_smtp.messages) if m["rcpt_tos"] == ["urgent@example.com"])
    assert position < 100, f"the code arrived after {position} bulk messages"
