"""Rate limits on the account pages, counted in real Redis (the `redis_cache` fixture)."""

import threading

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse

from notifications.models import OutboundEmail

from .support import PASSWORD

pytestmark = pytest.mark.django_db

LIMITS = {
    "confirm_resend": "1/m/key,5/h/key,3/h/ip",
    "password_reset": "1/m/key,5/h/key,3/h/ip",
    "confirm": "3/h/ip",
    "login": "3/m/key,60/h/ip",
    "signup": "2/h/ip",
}


def assert_429(response):
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Slow down" in response.content.decode()


@pytest.mark.parametrize(
    "path, known_confirmed",
    [("/accounts/confirm/resend/", False), ("/accounts/password/reset/", True)],
)
def test_per_address_limit_answers_the_same_for_known_and_unknown(
    user_factory, redis_cache, redis_client, path, known_confirmed
):
    user_factory(confirmed=known_confirmed)
    for email in ("ada@example.com", "nobody@example.com"):
        first = Client().post(path, {"email": email})
        assert first.status_code == 302
        second = Client(REMOTE_ADDR="10.0.0.9").post(path, {"email": email.upper()})  # other IP, same address
        assert_429(second)
    assert OutboundEmail.objects.filter(recipients="ada@example.com").count() == 1
    assert redis_client.keys("*rl:*:key:*"), "counters live in Redis"


@override_settings(ACCOUNTS_RATE_LIMITS=LIMITS)
@pytest.mark.parametrize("path", ["/accounts/confirm/resend/", "/accounts/password/reset/"])
def test_per_ip_limit_cannot_be_dodged_with_a_forged_forwarded_header(redis_cache, path):
    client = Client()
    for n in range(3):
        assert client.post(path, {"email": f"a{n}@example.com"}).status_code == 302
    response = client.post(path, {"email": "a9@example.com"}, headers={"x-forwarded-for": "203.0.113.7"})
    assert_429(response)
    assert Client(REMOTE_ADDR="10.1.1.1").post(path, {"email": "b1@example.com"}).status_code == 302


@override_settings(ACCOUNTS_RATE_LIMITS=LIMITS)
def test_confirm_links_are_limited_per_ip(redis_cache):
    for _ in range(3):
        assert Client().get("/accounts/confirm/whatever/").status_code == 400
    assert_429(Client().get("/accounts/confirm/whatever/"))
    assert_429(Client().post("/accounts/email/change/confirm/whatever/"))


@override_settings(ACCOUNTS_RATE_LIMITS=LIMITS)
def test_login_is_limited_per_login_name(user_factory, redis_cache, client):
    user_factory()
    for _ in range(3):
        assert client.post("/accounts/login/", {"username": "ada", "password": "wrong"}).status_code == 200
    assert_429(client.post("/accounts/login/", {"username": "ADA", "password": PASSWORD}))
    assert not client.get("/").context["user"].is_authenticated


@override_settings(ACCOUNTS_RATE_LIMITS=LIMITS)
def test_signup_is_limited_per_ip(redis_cache):
    for n in range(2):
        data = {"email": f"u{n}@example.com", "username": f"u{n}", "password1": PASSWORD, "password2": PASSWORD}
        assert Client().post("/accounts/signup/", data).status_code == 302
    data = {"email": "u9@example.com", "username": "u9", "password1": PASSWORD, "password2": PASSWORD}
    assert_429(Client().post("/accounts/signup/", data))
    assert not OutboundEmail.objects.filter(recipients="u9@example.com").exists()


def test_json_callers_get_a_json_429(redis_cache):
    Client().post("/accounts/confirm/resend/", {"email": "x@example.com"})
    response = Client().post(
        "/accounts/confirm/resend/", {"email": "x@example.com"}, headers={"accept": "application/json"}
    )
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert response.json()["retry_after"] == int(response["Retry-After"])


def test_concurrent_resends_let_only_one_through(redis_cache):
    statuses = []
    barrier = threading.Barrier(8)

    def hit():
        try:
            barrier.wait()
            statuses.append(Client().post("/accounts/confirm/resend/", {"email": "race@example.com"}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302] + [429] * 7


def test_limits_can_be_switched_off(redis_cache):
    with override_settings(ACCOUNTS_RATE_LIMITS_ENABLED=False):
        for _ in range(3):
            assert Client().post(reverse("accounts:confirm-resend"), {"email": "x@example.com"}).status_code == 302


@override_settings(ACCOUNTS_RATE_LIMITS={**LIMITS, "signup": "100/h/ip", "code_verify": "1/m/key,100/h/ip"})
def test_signup_code_checks_over_the_limit_answer_429(redis_cache):
    data = {"email": "u@example.com", "username": "u", "password1": PASSWORD, "password2": PASSWORD, "code": "123456"}
    first = Client().post("/accounts/signup/", data)
    assert first.status_code == 200 and "code" in first.context["form"].errors
    assert_429(Client().post("/accounts/signup/", data))
    assert not OutboundEmail.objects.exists()


def test_a_minute_limit_slides_across_the_minute_boundary(redis_cache):
    """1/m means one in any 60 seconds, not one per clock minute: a hit at 09:00:59 still blocks
    the one at 09:01:01, and the wait it reports is until 09:01:59."""
    from accounts.ratelimit import ratelimit_consume

    base = 1_773_133_259.0  # some hh:mm:59
    assert ratelimit_consume(action="code_send", key="edge@example.com", now=base) is None
    assert ratelimit_consume(action="code_send", key="edge@example.com", now=base + 2) == 58
    assert ratelimit_consume(action="code_send", key="edge@example.com", now=base + 60) is None


@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
def test_the_same_sliding_window_without_redis():
    """The embedded defaults (no Redis) count with the same rules, through plain cache get/set."""
    from accounts.ratelimit import ratelimit_consume, ratelimit_peek

    base = 1_773_133_259.0
    limits = {"demo": "2/m/key,3/h/ip"}
    with override_settings(ACCOUNTS_RATE_LIMITS=limits):
        assert ratelimit_consume(action="demo", key="a", ip="192.0.2.1", now=base) is None
        assert ratelimit_consume(action="demo", key="a", ip="192.0.2.1", now=base + 1) is None
        assert ratelimit_peek(action="demo", key="a", ip="192.0.2.1", now=base + 2) == 58
        assert ratelimit_consume(action="demo", key="a", ip="192.0.2.1", now=base + 2) == 58
        assert ratelimit_consume(action="demo", key="b", ip="192.0.2.1", now=base + 3) is None
        # The IP's hour is now full: a third address from it waits for the first hit to age out.
        assert ratelimit_consume(action="demo", key="c", ip="192.0.2.1", now=base + 4) == 3596
