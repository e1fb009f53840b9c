"""The follows, profiles, notification settings and one-click unsubscribe of /api/v1/, as both kinds
of client (browser: session cookie and CSRF; app: X-Session-Token) see them."""

import json
import re

import pytest

from accounts.tests.api_helpers import BASE, ApiClient
from notifications.follows import services as follows
from notifications.models import Follow, NotificationPreference
from testing.users import PASSWORD

pytestmark = pytest.mark.usefixtures("postgres", "redis_cache")

KINDS = ["browser", "app"]
PROBLEM = "application/problem+json"


def unconfirmed(user_factory, kind, name):
    """A logged-in client of an account whose address is no longer confirmed (an unconfirmed
    account cannot log in at all)."""
    user = user_factory(name)
    api = logged_in(kind, user)
    type(user).objects.filter(pk=user.pk).update(email_confirmed_at=None)
    return user, api


def logged_in(kind, user):
    api = ApiClient(kind)
    response = api.post("/auth/login", {"login": user.username, "password": PASSWORD})
    assert response.status_code == 200, response.content
    return api


def problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = json.loads(response.content)
    assert body["status"] == status and body["detail"]
    return body


def raw(api, method, path, data):
    """A request with `data` as the body, exactly, from `api`'s client."""
    if api.kind == "app":
        api.http.cookies.clear()
    return getattr(api.http, method)(f"{BASE}/{api.kind}{path}", data, "application/json", headers=api.headers())


# ------------------------------------------------------------------------------------------------
# Follow and unfollow
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_follow_twice_then_unfollow_twice(kind, alice, bob):
    api = logged_in(kind, alice)
    assert api.post("/users/bob/follow").body == {"following": True, "changed": True}
    assert api.post("/users/bob/follow").body == {"following": True, "changed": False}
    assert Follow.objects.filter(follower=alice, followed=bob).count() == 1
    profile = api.get("/users/bob").body
    assert profile == {
        "username": "bob",
        "follower_count": 1,
        "following_count": 0,
        "is_self": False,
        "is_following": True,
    }
    assert api.call("delete", "/users/bob/follow").body == {"following": False, "changed": True}
    assert api.call("delete", "/users/bob/follow").body == {"following": False, "changed": False}
    assert not Follow.objects.exists()


@pytest.mark.parametrize("kind", KINDS)
def test_following_yourself_is_a_400_problem(kind, alice):
    body = problem(logged_in(kind, alice).post("/users/alice/follow"), 400)
    assert body["code"] == "invalid" and "yourself" in body["detail"]
    assert not Follow.objects.exists()


@pytest.mark.parametrize("kind", KINDS)
def test_following_a_missing_or_inactive_user_is_a_404_problem(kind, alice, user_factory):
    user_factory("gone", active=False)
    api = logged_in(kind, alice)
    for name in ("nobody", "gone"):
        assert problem(api.post(f"/users/{name}/follow"), 404)["code"] == "not_found"
        assert problem(api.call("delete", f"/users/{name}/follow"), 404)["code"] == "not_found"
    assert problem(api.post("/users/bad%20name!/follow"), 400)["errors"][0]["field"] == "username"


@pytest.mark.parametrize("kind", KINDS)
def test_an_unconfirmed_user_cannot_follow(kind, bob, user_factory):
    _carol, api = unconfirmed(user_factory, kind, "carol")
    body = problem(api.post("/users/bob/follow"), 403)
    assert body["code"] == "forbidden" and "Confirm your email" in body["detail"]
    assert not Follow.objects.exists()


@pytest.mark.parametrize("kind", KINDS)
def test_an_unconfirmed_account_is_hidden_as_on_the_pages(kind, alice, user_factory):
    """An unconfirmed account may be a squatter's: the API neither shows nor follows it, as the
    pages do not, though its owner sees their own profile."""
    carol, carols = unconfirmed(user_factory, kind, "carol")
    api = logged_in(kind, alice)
    assert problem(api.post("/users/carol/follow"), 404)["code"] == "not_found"
    assert problem(api.get("/users/carol"), 404)["code"] == "not_found"
    for path in ("/users/carol", "/users/carol/followers", "/users/carol/following"):
        assert problem(api.get(path, client_path=False), 404)["code"] == "not_found"
    assert not Follow.objects.exists()
    # A follow made while confirmed does not list the unconfirmed follower.
    Follow.objects.create(follower=carol, followed=alice)
    assert api.get("/users/alice/followers", client_path=False).body["results"] == []
    assert carols.get("/users/carol").body["is_self"] is True


@pytest.mark.parametrize("kind", KINDS)
def test_member_endpoints_need_a_log_in(kind, bob):
    api = ApiClient(kind)
    for method, path in (
        ("post", "/users/bob/follow"),
        ("delete", "/users/bob/follow"),
        ("get", "/users/bob"),
        ("get", "/notifications/settings"),
    ):
        assert problem(api.call(method, path), 401)["code"] == "not_authenticated"
    assert problem(raw(api, "put", "/notifications/settings", '{"follower_emails": false}'), 401)
    assert not Follow.objects.exists()


def test_a_browser_follow_without_the_csrf_token_is_refused(alice, bob):
    api = logged_in("browser", alice)
    response = api.http.post(f"{BASE}/browser/users/bob/follow", content_type="application/json")
    assert problem(response, 403)["code"] == "csrf_failed"
    assert not Follow.objects.exists()


def test_an_app_client_is_not_logged_in_by_a_cookie(alice, bob):
    """The browser's session cookie opens no app path: an app request is its token or nothing."""
    browser = logged_in("browser", alice)
    response = browser.http.post(
        f"{BASE}/app/users/bob/follow", content_type="application/json", headers=browser.headers()
    )
    assert problem(response, 401)["code"] == "not_authenticated"
    assert not Follow.objects.exists()


# ------------------------------------------------------------------------------------------------
# Profiles and lists
# ------------------------------------------------------------------------------------------------
def test_public_profile_and_lists(alice, bob, user_factory):
    carol = user_factory("carol")
    follows.follow_create(follower=alice, followed=bob)
    follows.follow_create(follower=carol, followed=bob)
    follows.follow_create(follower=bob, followed=carol)
    anyone = ApiClient("app")
    assert anyone.get("/users/bob", client_path=False).body == {
        "username": "bob",
        "follower_count": 2,
        "following_count": 1,
        "is_self": None,
        "is_following": None,
    }
    followers = anyone.get("/users/bob/followers", client_path=False).body
    assert followers == {"count": 2, "page": 1, "pages": 1, "results": [{"username": "carol"}, {"username": "alice"}]}
    following = anyone.get("/users/bob/following", client_path=False).body
    assert following["results"] == [{"username": "carol"}]
    assert problem(anyone.get("/users/nobody/followers", client_path=False), 404)["code"] == "not_found"


def test_lists_are_paginated(bob, user_factory, settings):
    people = [user_factory(f"fan{n:02d}") for n in range(53)]
    follows.follow_create_many(followers=people, followed=bob)
    anyone = ApiClient("app")
    first = anyone.get("/users/bob/followers", client_path=False).body
    second = anyone.get("/users/bob/followers?page=2", client_path=False).body
    assert (first["count"], first["pages"], len(first["results"])) == (53, 2, 50)
    assert (second["page"], len(second["results"])) == (2, 3)
    names = {p["username"] for p in first["results"] + second["results"]}
    assert names == {person.username for person in people}
    # Past the end gives the last page, as the pages do; nonsense is a field error.
    assert anyone.get("/users/bob/followers?page=9", client_path=False).body["page"] == 2
    body = problem(anyone.get("/users/bob/followers?page=0", client_path=False), 400)
    assert body["errors"][0]["field"] == "page"
    assert problem(anyone.get("/users/bob/followers?page=x", client_path=False), 400)["errors"][0]["field"] == "page"


@pytest.mark.parametrize("kind", KINDS)
def test_own_profile_says_is_self(kind, alice):
    body = logged_in(kind, alice).get("/users/alice").body
    assert body["is_self"] is True and body["is_following"] is False


# ------------------------------------------------------------------------------------------------
# Notification settings
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_settings_get_and_put(kind, alice):
    api = logged_in(kind, alice)
    assert api.get("/notifications/settings").body == {"follower_emails": True, "email_confirmed": True}
    response = api.call("put", "/notifications/settings", {"follower_emails": False})
    assert response.status_code == 200 and response.body == {"follower_emails": False, "email_confirmed": True}
    assert NotificationPreference.objects.get(user=alice).follower_emails is False
    assert api.get("/notifications/settings").body["follower_emails"] is False
    assert api.call("put", "/notifications/settings", {"follower_emails": True}).body["follower_emails"] is True


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "data",
    [
        '{"follower_emails": "maybe"}',
        '{"follower_emails": [true]}',
        '{"follower_emails": null}',
        "{}",
    ],
)
def test_settings_with_wrong_types_are_field_errors(kind, alice, data):
    body = problem(raw(logged_in(kind, alice), "put", "/notifications/settings", data), 400)
    assert body["code"] == "invalid"
    assert [error["field"] for error in body["errors"]] == ["follower_emails"]
    assert not NotificationPreference.objects.exists()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("data", ['{"follower_emails": fal', "not json", "[]", '"text"', ""])
def test_settings_with_a_bad_body_are_400_problems(kind, alice, data):
    body = problem(raw(logged_in(kind, alice), "put", "/notifications/settings", data), 400)
    assert body["code"] == "invalid"
    assert not NotificationPreference.objects.exists()


# ------------------------------------------------------------------------------------------------
# One-click unsubscribe, with the token from a real alert email
# ------------------------------------------------------------------------------------------------
def alert_token(smtp_inbox, follower, recipient, kind="app"):
    """Follow through the API, let the alert go out through SMTP, and take the token from the
    List-Unsubscribe header of the message the SMTP server received, as a mail provider does."""
    logged_in(kind, follower).post(f"/users/{recipient.username}/follow")
    follows.follower_alerts_process(recipient_id=recipient.pk)
    message = smtp_inbox.last_to(recipient.email).message
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    (token,) = re.fullmatch(
        r"<https?://[^>]*/notifications/unsubscribe/([^/>]+)/>", message["List-Unsubscribe"]
    ).groups()
    return token


@pytest.mark.parametrize("kind", KINDS)
def test_one_click_unsubscribe_with_the_token_alone(kind, alice, bob, smtp_inbox):
    token = alert_token(smtp_inbox, alice, bob, kind)
    anyone = ApiClient("app")  # no log-in, no cookie, no CSRF token
    seen = anyone.get(f"/notifications/unsubscribe?token={token}", client_path=False)
    assert seen.body == {"username": "bob", "follower_emails": True}
    response = anyone.post("/notifications/unsubscribe", {"token": token}, client_path=False)
    assert response.status_code == 200 and response.body == {"username": "bob", "follower_emails": False}
    assert follows.alerts_wanted(user=bob) is False
    # Once more is harmless: the same answer.
    assert (
        anyone.post("/notifications/unsubscribe", {"token": token}, client_path=False).body["follower_emails"] is False
    )
    assert logged_in(kind, bob).get("/notifications/settings").body["follower_emails"] is False


def test_a_browser_needs_no_csrf_token_to_unsubscribe(alice, bob, smtp_inbox):
    token = alert_token(smtp_inbox, alice, bob, "browser")
    response = ApiClient("browser").http.post(
        f"{BASE}/notifications/unsubscribe", json.dumps({"token": token}), "application/json"
    )
    assert response.status_code == 200 and follows.alerts_wanted(user=bob) is False


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("nonsense", id="garbage"),
        pytest.param("", id="empty"),
        pytest.param("x" * 1025, id="too-long"),
    ],
)
def test_a_bad_unsubscribe_token_is_a_4xx_problem(bob, token):
    anyone = ApiClient("app")
    body = problem(anyone.post("/notifications/unsubscribe", {"token": token}, client_path=False), 400)
    assert body["code"] == "invalid"
    assert follows.alerts_wanted(user=bob) is True


def test_a_tampered_or_foreign_token_unsubscribes_nobody(alice, bob, smtp_inbox):
    from django.core import signing

    token = alert_token(smtp_inbox, alice, bob)
    anyone = ApiClient("app")
    other_salt = signing.dumps({"u": bob.pk, "k": "follower_emails"}, salt="another.purpose", compress=True)
    for bad in (token[:-2] + ("xx" if not token.endswith("xx") else "yy"), other_salt):
        problem(anyone.post("/notifications/unsubscribe", {"token": bad}, client_path=False), 400)
        problem(anyone.get(f"/notifications/unsubscribe?token={bad}", client_path=False), 400)
    assert follows.alerts_wanted(user=bob) is True


@pytest.mark.parametrize("data", ["not json", "{}", '{"token": 5}', "[]"])
def test_an_unsubscribe_with_a_bad_body_is_a_400_problem(bob, data):
    response = ApiClient("app").http.post(f"{BASE}/notifications/unsubscribe", data, "application/json")
    problem(response, 400)
    assert follows.alerts_wanted(user=bob) is True
