"""Redis goes down: the pages and the API that count hits answer 503 with Retry-After, in the form
the caller asked for, let nobody past an uncounted limit, and leave no half-written rows behind.

Each test starts its own redis-server, points the cache at it, proves it is used, and stops it."""

import json
import shutil
import subprocess
import time

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.test import override_settings

from accounts.models import EmailCaptcha
from notifications.models import OutboundEmail
from testing.fixtures import service_missing
from testing.servers import free_port

PASSWORD = "correct horse battery staple"
BRIEFLY = "briefly unavailable"

pytestmark = pytest.mark.django_db


class RedisServer:
    def __init__(self, tmp_path):
        binary = shutil.which("redis-server")
        if not binary:
            service_missing("redis-server is not installed")
        self.port = free_port()
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        self.client = redis.Redis(port=self.port, socket_timeout=1)
        for _attempt in range(100):
            try:
                self.client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            self.stop()
            service_missing("redis-server did not start")

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def redis_that_stops(tmp_path):
    """A Redis of our own behind the default cache; the test stops it with .stop()."""
    server = RedisServer(tmp_path)
    caches = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": server.url,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
            "KEY_PREFIX": "mailsite",
        }
    }
    try:
        with override_settings(CACHES=caches, ACCOUNTS_RATE_LIMITS_ENABLED=True):
            yield server
    finally:
        server.stop()


@pytest.fixture
def ada(db):
    from django.utils import timezone

    return get_user_model().objects.create_user(
        username="ada", email="ada@example.com", password=PASSWORD, email_confirmed_at=timezone.now()
    )


def rows():
    return {
        "users": get_user_model().objects.count(),
        "outbox": OutboundEmail.objects.count(),
        "codes": EmailCaptcha.objects.count(),
    }


def assert_unavailable_page(response):
    assert response.status_code == 503, response.content[:300]
    assert int(response["Retry-After"]) > 0
    assert response["Content-Type"].startswith("text/html")
    assert BRIEFLY in response.content.decode()


def test_the_cache_is_the_test_redis_until_it_stops(client, ada, redis_that_stops):
    """The setup itself: with the server up, a log-in is counted in it (and works)."""
    response = client.post("/accounts/login/", {"username": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 302 and client.session[SESSION_KEY] == str(ada.pk)
    assert redis_that_stops.client.dbsize() > 0  # the rate-limit counters live there


def test_log_in_with_redis_down_is_a_503_and_logs_nobody_in(client, ada, redis_that_stops):
    redis_that_stops.stop()
    response = client.post("/accounts/login/", {"username": "ada@example.com", "password": PASSWORD})
    assert_unavailable_page(response)
    assert SESSION_KEY not in client.session  # fail closed: no limit skipped, no log-in


def test_sign_up_with_redis_down_is_a_503_and_creates_nobody(client, redis_that_stops):
    before = rows()
    redis_that_stops.stop()
    response = client.post(
        "/accounts/signup/",
        {"email": "new@example.com", "username": "newbie", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert_unavailable_page(response)
    assert rows() == before
    assert not get_user_model().objects.filter(username="newbie").exists()


def test_password_reset_with_redis_down_is_a_503_and_mails_nothing(client, ada, redis_that_stops):
    before = rows()
    redis_that_stops.stop()
    response = client.post("/accounts/password/reset/", {"email": "ada@example.com"})
    assert_unavailable_page(response)
    assert rows() == before


@pytest.mark.parametrize("purpose", ["signup", "login"])
def test_a_code_request_as_json_with_redis_down_is_a_503_in_json(client, ada, redis_that_stops, purpose):
    before = rows()
    redis_that_stops.stop()
    response = client.post(
        f"/accounts/code/?purpose={purpose}",
        data=json.dumps({"email": "ada@example.com" if purpose == "login" else "new@example.com"}),
        content_type="application/json",
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    body = response.json()
    assert body["error"] == "service_unavailable" and BRIEFLY in body["detail"]
    assert body["retry_after"] == int(response["Retry-After"])
    assert rows() == before


def test_code_log_in_pages_with_redis_down_are_503_pages(client, ada, redis_that_stops):
    before = rows()
    redis_that_stops.stop()
    assert_unavailable_page(client.post("/accounts/login/code/", {"email": "ada@example.com"}))
    confirm = client.post("/accounts/login/code/confirm/", {"email": "ada@example.com", "code": "123456"})
    assert_unavailable_page(confirm)
    assert SESSION_KEY not in client.session
    assert rows() == before


def test_the_rate_limit_helper_fails_closed(redis_that_stops):
    from accounts.errors import AccountsError, RateLimitUnavailable
    from accounts.ratelimit import ratelimit_consume, ratelimit_peek

    assert ratelimit_consume(action="login", key="ada@example.com", ip="192.0.2.1") is None
    redis_that_stops.stop()
    with pytest.raises(RateLimitUnavailable) as caught:
        ratelimit_consume(action="login", key="ada@example.com", ip="192.0.2.1")
    assert isinstance(caught.value, AccountsError)
    with pytest.raises(RateLimitUnavailable):
        ratelimit_peek(action="login", key="ada@example.com", ip="192.0.2.1")


def test_the_503_page_and_settings(client, redis_that_stops):
    """The middleware is installed last, so it sees a view's errors before any other."""
    assert settings.MIDDLEWARE[-1] == "mailsite.middleware.ServiceUnavailableMiddleware"
    redis_that_stops.stop()
    response = client.post(
        "/accounts/login/", {"username": "x", "password": "y"}, headers={"Accept-Language": "zh-hans"}
    )
    assert response.status_code == 503
    assert BRIEFLY not in response.content.decode()  # translated like any other page


def test_follows_with_redis_down_are_503s_and_follow_nobody(client, ada, redis_that_stops):
    """The follow limit fails closed too: the page and the API answer 503, and no row is written."""
    from django.utils import timezone

    from notifications.models import Follow

    get_user_model().objects.create_user(
        username="bob", email="bob@example.com", password=PASSWORD, email_confirmed_at=timezone.now()
    )
    login = client.post("/api/v1/app/auth/login", {"login": "ada", "password": PASSWORD}, "application/json")
    token = login.json()["session_token"]
    client.force_login(ada)
    assert client.post("/u/bob/follow/").status_code == 302
    assert client.post("/u/bob/unfollow/").status_code == 302
    assert redis_that_stops.client.keys("notifications:rl:*")  # the window is counted in this Redis
    redis_that_stops.stop()
    assert_unavailable_page(client.post("/u/bob/follow/"))
    response = client.post("/api/v1/app/users/bob/follow", headers={"X-Session-Token": token})
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    assert response["Content-Type"] == "application/problem+json"
    assert not Follow.objects.exists()
