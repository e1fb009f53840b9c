"""The code limits under concurrency: many requests at once through the Django stack, each thread
with its own database connection, all counting in the same real Redis. None may let more through
than its limit. Time is frozen so that no fixed window turns over mid-test."""

import threading

import pytest
import time_machine
from django.db import connections
from django.test import Client

from accounts.conf import settings as app_settings
from accounts.models import EmailCaptcha

from .code_helpers import MORNING, code_from, other_code

pytestmark = pytest.mark.usefixtures("redis_cache")


def at_once(requests):
    """Run each request (a callable taking a Client) in its own thread, released together."""
    barrier = threading.Barrier(len(requests))
    results = [None] * len(requests)

    def run(index, request):
        try:
            client = Client()
            barrier.wait(timeout=30)
            results[index] = request(client)
        except Exception as error:  # surfaced by the assertion below
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    return results


def send(email, ip="203.0.113.9", **headers):
    def request(client):
        return client.post(
            "/accounts/code/",
            {"email": email},
            headers={"accept": "application/json", **headers},
            REMOTE_ADDR=ip,
        ).status_code

    return request


def test_one_code_a_minute_per_address_however_many_ask_at_once(transactional_db, outbox):
    with time_machine.travel(MORNING, tick=False):
        statuses = at_once([send("rush@example.com", ip=f"198.51.100.{n}") for n in range(10)])
    assert sorted(statuses) == [202] + [429] * 9
    assert EmailCaptcha.objects.count() == 1
    assert len(outbox.messages_to("rush@example.com")) == 1


def test_five_codes_an_hour_per_address(transactional_db, settings):
    settings.ACCOUNTS_RATE_LIMITS = {**app_settings.ACCOUNTS_RATE_LIMITS, "code_send": "5/h/key,20/h/ip"}
    with time_machine.travel(MORNING, tick=False):
        statuses = at_once([send("hourly@example.com", ip=f"198.51.100.{n}") for n in range(12)])
    assert sorted(statuses) == [202] * 5 + [429] * 7
    assert EmailCaptcha.objects.count() == 5


def test_twenty_codes_an_hour_per_client_ip(transactional_db):
    with time_machine.travel(MORNING, tick=False):
        statuses = at_once([send(f"ip{n}@example.com", ip="192.0.2.200") for n in range(26)])
    assert sorted(statuses) == [202] * 20 + [429] * 6
    assert EmailCaptcha.objects.filter(ip="192.0.2.200").count() == 20


def test_forwarded_for_is_only_believed_from_a_trusted_proxy(transactional_db, settings):
    with time_machine.travel(MORNING, tick=False):
        spoofed = at_once(
            [send(f"spoof{n}@example.com", ip="192.0.2.201", x_forwarded_for=f"10.9.9.{n}") for n in range(22)]
        )
        assert sorted(spoofed) == [202] * 20 + [429] * 2  # one client, whatever the header says

        settings.ACCOUNTS_TRUSTED_PROXIES = ["127.0.0.0/8"]
        proxied = at_once(
            [send(f"proxied{n}@example.com", ip="127.0.0.1", x_forwarded_for=f"198.18.0.{n}") for n in range(22)]
        )
    assert proxied == [202] * 22  # 22 different clients behind our proxy
    assert set(EmailCaptcha.objects.filter(email__startswith="proxied").values_list("ip", flat=True)) == {
        f"198.18.0.{n}" for n in range(22)
    }


def test_concurrent_guesses_get_no_more_tries_than_allowed(user_factory, transactional_db, settings, outbox):
    settings.ACCOUNTS_RATE_LIMITS_ENABLED = False
    user_factory("target@example.com")
    Client().post("/accounts/login/code/", {"email": "target@example.com"})
    wrong = other_code(code_from(outbox, "target@example.com"))

    def guess(client):
        response = client.post("/accounts/login/code/confirm/", {"email": "target@example.com", "code": wrong})
        return response.status_code, response.content.decode()

    results = at_once([guess] * 12)
    assert all(status == 200 for status, _body in results)  # the form page with its error
    compared = [body for _status, body in results if "tried too many times" not in body]
    assert len(compared) == app_settings.ACCOUNTS_CODE_MAX_ATTEMPTS
    captcha = EmailCaptcha.objects.get()
    assert captcha.outcome == "exhausted" and captcha.attempts == app_settings.ACCOUNTS_CODE_MAX_ATTEMPTS


def test_concurrent_right_codes_log_in_once(user_factory, transactional_db, settings, outbox):
    settings.ACCOUNTS_RATE_LIMITS_ENABLED = False
    user_factory("twice@example.com")
    Client().post("/accounts/login/code/", {"email": "twice@example.com"})
    code = code_from(outbox, "twice@example.com")

    def use(client):
        response = client.post("/accounts/login/code/confirm/", {"email": "twice@example.com", "code": code})
        return response.status_code, "_auth_user_id" in client.session

    results = at_once([use] * 8)
    assert sorted(results) == [(200, False)] * 7 + [(302, True)]
    assert EmailCaptcha.objects.get().outcome == "used"


def test_concurrent_guesses_never_pass_the_daily_failure_limit(transactional_db, settings, redis_client):
    settings.ACCOUNTS_RATE_LIMITS_ENABLED = False
    settings.ACCOUNTS_CODE_MAX_ATTEMPTS = 100
    settings.ACCOUNTS_CODE_MAX_FAILURES = 7

    def guess(client):
        response = client.post("/accounts/login/code/confirm/", {"email": "daily@example.com", "code": "000000"})
        return response.status_code

    with time_machine.travel(MORNING, tick=False):
        statuses = at_once([guess] * 16)
    # The 7th failure is answered with the lock (429) itself; later ones are refused before comparing.
    assert sorted(statuses) == [200] * 6 + [429] * 10
