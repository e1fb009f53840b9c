"""The account flows through the JSON API, with both kinds of client, reading codes and links out of
the mail as a front end's user would: out of the bytes the loopback SMTP server received after the
outbox delivered them through the real transport (the `smtp_inbox` fixture)."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import AppToken, EmailCaptcha

from .api_helpers import ApiClient, code_in, link_key
from .support import PASSWORD

pytestmark = pytest.mark.usefixtures("postgres", "redis_cache")

KINDS = ["browser", "app"]
NEW_PASSWORD = "a brand new passphrase 42"


def users():
    return get_user_model().objects


def problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    return json.loads(response.content)


@pytest.mark.parametrize("kind", KINDS)
def test_sign_up_with_a_link_then_log_in(kind, smtp_inbox):
    api = ApiClient(kind)
    response = api.post("/auth/signup", {"email": "New@Example.com", "username": "newbie", "password": PASSWORD})
    assert response.status_code == 202, response.content
    assert response.body["authenticated"] is False
    key = link_key(smtp_inbox, "new@example.com", "/accounts/confirm/")
    # The client that chose the password confirms without choosing another one.
    assert api.post("/auth/email/verify", {"key": key}).status_code == 200
    assert users().get(username="newbie").email_confirmed_at is not None
    response = api.post("/auth/login", {"login": "newbie", "password": PASSWORD})
    assert response.status_code == 200, response.content
    assert response.body["user"]["email"] == "new@example.com"
    assert api.get("/auth/session").body["authenticated"] is True
    assert api.call("delete", "/auth/session").body["authenticated"] is False
    assert api.get("/auth/session").body["authenticated"] is False


@pytest.mark.parametrize("kind", KINDS)
def test_sign_up_with_a_code_logs_in_at_once(kind, smtp_inbox):
    api = ApiClient(kind)
    assert api.post("/auth/code/request", {"email": "c@example.com", "purpose": "signup"}).status_code == 202
    code = code_in(smtp_inbox, "c@example.com")
    body = {"email": "c@example.com", "username": "cee", "password": PASSWORD, "code": code}
    response = api.post("/auth/signup", body)
    assert response.status_code == 200, response.content
    assert response.body["authenticated"] is True and response.body["user"]["email_confirmed"] is True
    assert EmailCaptcha.objects.get(email="c@example.com").outcome == EmailCaptcha.Outcome.USED


@pytest.mark.parametrize("kind", KINDS)
def test_email_verification_by_code_after_sign_up(kind, smtp_inbox, settings):
    settings.ACCOUNTS_EMAIL_VERIFICATION_BY_CODE = True
    api = ApiClient(kind)
    response = api.post("/auth/signup", {"email": "v@example.com", "username": "vee", "password": PASSWORD})
    assert response.status_code == 202 and response.body["pending"] == ["verify_email"]
    code = code_in(smtp_inbox, "v@example.com")
    # Another client cannot use the code: the pending sign-up is the signing-up client's own.
    other = ApiClient(kind)
    assert problem(other.post("/auth/email/verify/code", {"code": code}), 400)["errors"][0]["field"] == "code"
    response = api.post("/auth/email/verify/code", {"code": code})
    assert response.status_code == 200, response.content
    assert response.body["authenticated"] is True and response.body["pending"] == []
    assert users().get(username="vee").email_confirmed_at is not None


@pytest.mark.parametrize("kind", KINDS)
def test_sign_up_with_a_taken_address_answers_as_for_a_free_one(kind, smtp_inbox, user_factory, settings):
    settings.ACCOUNTS_EMAIL_VERIFICATION_BY_CODE = True
    user_factory("ada@example.com")
    answers = []
    for email, username in (("ada@example.com", "other"), ("free@example.com", "free")):
        response = ApiClient(kind).post("/auth/signup", {"email": email, "username": username, "password": PASSWORD})
        body = {key: value for key, value in response.body.items() if key != "session_token"}
        answers.append((response.status_code, body, bool(response.body["session_token"])))
    assert answers[0] == answers[1]
    # Only the mailboxes tell the two apart: the owner is told, the newcomer gets a code.
    assert smtp_inbox.last_to("ada@example.com").subject == "You already have a mailsite account"
    assert code_in(smtp_inbox, "free@example.com")


@pytest.mark.parametrize("kind", KINDS)
def test_log_in_by_code(kind, smtp_inbox, user_factory):
    user_factory("ada@example.com")
    api = ApiClient(kind)
    response = api.post("/auth/code/request", {"email": "ADA@example.com", "purpose": "login"})
    assert response.status_code == 202 and response.body["expires_in"] > 0
    wrong = problem(api.post("/auth/code/login", {"email": "ada@example.com", "code": "000000"}), 400)
    assert wrong["errors"][0]["field"] == "code"
    code = code_in(smtp_inbox, "ada@example.com")
    response = api.post("/auth/code/login", {"email": "ada@example.com", "code": code})
    assert response.status_code == 200 and response.body["user"]["username"] == "ada"


@pytest.mark.parametrize("kind", KINDS)
def test_password_reset_by_link_key(kind, smtp_inbox, user_factory):
    user_factory("ada@example.com")
    api = ApiClient(kind)
    response = api.post("/auth/password/request", {"email": "ada@example.com"})
    assert response.status_code == 202 and response.body["by"] == "link"
    key = link_key(smtp_inbox, "ada@example.com", "/accounts/password/reset/").replace("/", "-")
    assert api.post("/auth/password/reset", {"key": key, "password": NEW_PASSWORD}).status_code == 200
    assert users().get(username="ada").check_password(NEW_PASSWORD)
    assert problem(api.post("/auth/password/reset", {"key": key, "password": NEW_PASSWORD}), 400)["code"] == "invalid"


@pytest.mark.parametrize("kind", KINDS)
def test_password_reset_by_code(kind, smtp_inbox, user_factory, settings):
    settings.ACCOUNTS_PASSWORD_RESET_BY_CODE = True
    user_factory("ada@example.com")
    api = ApiClient(kind)
    response = api.post("/auth/password/request", {"email": "ada@example.com"})
    assert response.status_code == 202 and response.body["by"] == "code"
    code = code_in(smtp_inbox, "ada@example.com")
    weak = problem(
        api.post("/auth/password/reset/code", {"email": "ada@example.com", "code": code, "password": "1"}), 400
    )
    assert {error["field"] for error in weak["errors"]} == {"new_password2"}
    body = {"email": "ada@example.com", "code": code, "password": NEW_PASSWORD}
    assert api.post("/auth/password/reset/code", body).status_code == 200
    assert users().get(username="ada").check_password(NEW_PASSWORD)
    assert EmailCaptcha.objects.get(purpose="password_reset").outcome == EmailCaptcha.Outcome.USED


@pytest.mark.parametrize("kind", KINDS)
def test_password_change_and_email_change(kind, smtp_inbox, user_factory):
    user_factory("ada@example.com")
    api = ApiClient(kind)
    api.post("/auth/login", {"login": "ada", "password": PASSWORD})
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert api.post("/account/password/change", body).status_code == 200
    assert api.get("/auth/session").body["authenticated"] is True  # this session goes on
    response = api.post("/account/email/change", {"email": "ada2@example.com", "password": NEW_PASSWORD})
    assert response.status_code == 202, response.content
    key = link_key(smtp_inbox, "ada2@example.com", "/accounts/email/change/confirm/")
    response = ApiClient(kind).post("/account/email/change/confirm", {"key": key})
    assert response.status_code == 200 and response.body == {"email": "ada2@example.com"}


def test_app_token_is_hashed_revocable_and_dies_with_the_password(user_factory):
    user = user_factory("ada@example.com")
    api = ApiClient("app")
    api.post("/auth/login", {"login": "ada", "password": PASSWORD})
    row = AppToken.objects.get(user=user)
    assert api.token and row.key_hash != api.token and api.token not in row.key_hash
    assert api.get("/auth/session").body["authenticated"] is True
    user.set_password(NEW_PASSWORD)
    user.save()
    assert api.get("/auth/session").body["authenticated"] is False
    assert not AppToken.objects.filter(pk=row.pk).exists()


def test_app_client_ignores_cookies_and_needs_no_csrf(user_factory):
    user_factory("ada@example.com")
    browser = ApiClient("browser")
    browser.post("/auth/login", {"login": "ada", "password": PASSWORD})
    http = browser.http  # has the logged-in session cookie
    response = http.get("/api/v1/app/auth/session")
    assert response.json()["authenticated"] is False
    app = Client(enforce_csrf_checks=True)
    response = app.post(
        "/api/v1/app/auth/login", {"login": "ada", "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["session_token"]
    assert "sessionid" not in response.cookies


def test_browser_client_needs_the_csrf_token(user_factory):
    """Cross-site login CSRF: a form on another site posting to the API is refused."""
    user_factory("ada@example.com")
    http = Client(enforce_csrf_checks=True)
    response = http.post(
        "/api/v1/browser/auth/login", {"login": "ada", "password": PASSWORD}, content_type="application/json"
    )
    assert problem(response, 403)["code"] == "csrf_failed"


def test_member_endpoints_need_a_client_that_is_logged_in(user_factory):
    user_factory("bob@example.com")
    response = Client().post("/api/v1/app/users/bob/follow", headers={"X-Session-Token": "forged"})
    assert problem(response, 401)["code"] == "not_authenticated"


def test_errors_are_problem_details_with_field_errors():
    response = Client().post("/api/v1/app/auth/login", "not json", content_type="application/json")
    assert problem(response, 400)["status"] == 400
    response = Client().post("/api/v1/app/auth/login", {"login": "x"}, content_type="application/json")
    assert any(error["field"] == "password" for error in problem(response, 400)["errors"])


def test_links_point_at_the_front_end_when_configured(smtp_inbox, settings):
    settings.ACCOUNTS_FRONTEND_URLS = {"confirm": "https://app.example.org/verify/{key}"}
    ApiClient("app").post("/auth/signup", {"email": "f@example.com", "username": "eff", "password": PASSWORD})
    message = smtp_inbox.last_to("f@example.com")
    for body in (message.body, message.html):
        assert "https://app.example.org/verify/" in body and "/accounts/confirm/" not in body


@pytest.mark.parametrize("kind", KINDS)
def test_sessions_list_ends_others_and_account_deletion(kind, user_factory):
    user = user_factory("ada@example.com")
    me, other_app, other_browser = ApiClient(kind), ApiClient("app"), ApiClient("browser")
    for api in (me, other_app, other_browser):
        assert api.post("/auth/login", {"login": "ada", "password": PASSWORD}).status_code == 200
    rows = me.get("/account/sessions").body
    assert sorted(row["kind"] for row in rows) == sorted(["app", "browser", kind])
    assert [row["kind"] for row in rows if row["current"]] == [kind]
    assert me.call("delete", "/account/sessions").body == {"ended": 2}
    assert other_app.get("/auth/session").body["authenticated"] is False
    assert other_browser.get("/auth/session").body["authenticated"] is False
    assert problem(me.post("/account/delete", {"password": "wrong"}), 400)["errors"][0]["field"] == "password"
    assert me.post("/account/delete", {"password": PASSWORD}).body["authenticated"] is False
    assert not users().filter(pk=user.pk).exists()
