"""The API's limits are the pages' limits: an attacker's loop gets 429 problems with Retry-After,
and hits through either door count in the same buckets."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.conf import DEFAULTS

from .api_helpers import ApiClient, code_in
from .support import PASSWORD

pytestmark = pytest.mark.usefixtures("postgres", "redis_cache")


def test_password_guessing_loop_is_stopped_with_retry_after(user_factory, settings):
    settings.ACCOUNTS_RATE_LIMITS = {**DEFAULTS["ACCOUNTS_RATE_LIMITS"], "login": "5/m/key,60/h/ip"}
    user_factory("ada@example.com")
    api = ApiClient("app")
    statuses = [api.post("/auth/login", {"login": "ada", "password": f"guess {n}"}).status_code for n in range(8)]
    assert statuses == [400] * 5 + [429] * 3
    response = api.post("/auth/login", {"login": "ADA", "password": PASSWORD})  # the right one, too late
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    body = json.loads(response.content)
    assert response["Content-Type"] == "application/problem+json"
    assert body["code"] == "rate_limited" and body["retry_after"] == int(response["Retry-After"])


def test_the_page_and_the_api_share_one_bucket(user_factory):
    """One code a minute per address: asked for on the page, refused through the API."""
    user_factory("ada@example.com")
    page = Client()
    assert page.post("/accounts/code/", {"email": "ada@example.com", "purpose": "login"}).status_code == 302
    response = ApiClient("app").post("/auth/code/request", {"email": "ada@example.com", "purpose": "login"})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0


def test_code_guessing_loop_is_stopped(user_factory, smtp_inbox):
    user_factory("ada@example.com")
    api = ApiClient("browser")
    assert api.post("/auth/code/request", {"email": "ada@example.com", "purpose": "login"}).status_code == 202
    code = code_in(smtp_inbox, "ada@example.com")
    wrong = [f"{n:06d}" for n in range(13) if f"{n:06d}" != code][:12]
    statuses = {
        api.post("/auth/code/login", {"email": "ada@example.com", "code": guess}).status_code for guess in wrong
    }
    assert 429 in statuses
    # The code from the mail, too late: the loop is stopped, not only its wrong guesses.
    response = api.post("/auth/code/login", {"email": "ada@example.com", "code": code})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert api.get("/auth/session").body["authenticated"] is False


def test_signup_loop_from_one_ip_is_stopped(settings):
    settings.ACCOUNTS_RATE_LIMITS = {**DEFAULTS["ACCOUNTS_RATE_LIMITS"], "signup": "3/h/ip"}
    statuses = [
        ApiClient("app")
        .post("/auth/signup", {"email": f"s{n}@example.com", "username": f"s{n}", "password": PASSWORD})
        .status_code
        for n in range(5)
    ]
    assert statuses == [202, 202, 202, 429, 429]


@pytest.mark.parametrize("kind", ["browser", "app"])
def test_a_follow_loop_is_stopped_with_retry_after(kind, user_factory, settings):
    """Follow and unfollow share one window per person, on the pages and through the API."""
    settings.NOTIFICATIONS_FOLLOW_RATE_LIMIT = "4/m"
    user_factory("ada@example.com")
    user_factory("bob@example.com")
    api = ApiClient(kind)
    assert api.post("/auth/login", {"login": "ada", "password": PASSWORD}).status_code == 200
    calls = [("post", "/users/bob/follow"), ("delete", "/users/bob/follow")] * 3
    statuses = [api.call(method, path).status_code for method, path in calls]
    assert statuses == [200] * 4 + [429] * 2
    response = api.post("/users/bob/follow")
    assert response.status_code == 429 and response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["code"] == "rate_limited" and body["retry_after"] == int(response["Retry-After"]) > 0
    page = Client()
    page.force_login(get_user_model().objects.get(username="ada"))
    assert page.post("/u/bob/follow/").status_code == 429  # the pages count in the same window
