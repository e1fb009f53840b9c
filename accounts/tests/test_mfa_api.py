"""The second factor through the JSON API, for both kinds of client: set-up with re-authentication,
the log-in step, recovery codes, and bad input."""

import pytest

from accounts.api.clients import token_hash
from accounts.flows import mfa
from accounts.models import AppToken, Authenticator

from .api_helpers import ApiClient
from .mfa_helpers import code_at, fresh_code

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def _logged_in(kind, user):
    client = ApiClient(kind)
    assert client.post("/auth/login", {"login": user.email, "password": PASSWORD}).status_code == 200
    return client


def _stale(client):
    """Age the client's proof of identity past the 5 minutes."""
    if client.kind == "app":
        row = AppToken.objects.get(key_hash=token_hash(client.token))
        row.state[mfa.REAUTH_KEY]["at"] -= 301
        row.save()
    else:
        session = client.http.session
        session[mfa.REAUTH_KEY] = {**session[mfa.REAUTH_KEY], "at": session[mfa.REAUTH_KEY]["at"] - 301}
        session.save()


@pytest.mark.parametrize("kind", ["app", "browser"])
def test_set_up_log_in_and_recovery_codes_through_the_api(user_factory, kind):
    ada = user_factory("ada")
    client = _logged_in(kind, ada)
    _stale(client)
    refused = client.post("/account/authenticators/totp/setup")
    assert refused.status_code == 401
    assert refused.body["code"] == "reauthentication_required" and refused.body["methods"] == ["password"]
    assert client.post("/auth/reauthenticate", {"password": "wrong"}).status_code == 400
    assert client.post("/auth/reauthenticate", {"password": PASSWORD}).body["method"] == "password"
    setup = client.post("/account/authenticators/totp/setup")
    assert setup.status_code == 200 and setup.body["qr_svg"].startswith("<svg")
    secret = setup.body["secret"]
    assert secret in setup.body["uri"]
    done = client.post("/account/authenticators/totp", {"code": code_at(secret)})
    assert done.status_code == 200, done.body
    codes = done.body["recovery_codes"]
    listed = client.get("/account/authenticators").body
    assert {row["type"] for row in listed["authenticators"]} == {"totp", "recovery_codes"}
    assert secret not in str(listed) and listed["recovery_codes_left"] == 10

    fresh = ApiClient(kind)
    waiting = fresh.post("/auth/login", {"login": ada.email, "password": PASSWORD})
    assert waiting.status_code == 200 and waiting.body["authenticated"] is False
    assert waiting.body["pending"] == ["second_factor"]
    assert waiting.body["second_factor_methods"] == ["totp", "recovery_code"]
    assert fresh.get("/account/sessions").status_code == 401
    wrong = fresh.post("/auth/2fa", {"code": "000000" if code_at(secret) != "000000" else "111111"})
    assert wrong.status_code == 400 and wrong.body["errors"][0]["field"] == "code"
    passed = fresh.post("/auth/2fa", {"code": fresh_code(ada, secret)})
    assert passed.status_code == 200 and passed.body["authenticated"] is True
    assert fresh.get("/account/sessions").status_code == 200

    third = ApiClient(kind)
    third.post("/auth/login", {"login": ada.email, "password": PASSWORD})
    assert third.post("/auth/2fa", {"code": codes[0]}).body["authenticated"] is True
    assert client.get("/account/authenticators").body["recovery_codes_left"] == 9


@pytest.mark.parametrize(
    "body",
    [{"code": "1" * 65}, {"code": "12\u00003456"}, {"code": 123456}, {}, {"code": "A" * 1_000_000}, {"code": []}],
)
def test_bad_second_factor_bodies_are_4xx(user_factory, body):
    ada = user_factory("ada")
    Authenticator.objects.create(user=ada, kind="totp", data={"secret": "x"})
    client = ApiClient("app")
    assert client.post("/auth/login", {"login": ada.email, "password": PASSWORD}).body["pending"] == ["second_factor"]
    response = client.post("/auth/2fa", body)
    assert 400 <= response.status_code < 500 and response["Content-Type"] == "application/problem+json"


def test_the_second_factor_step_without_a_waiting_log_in_is_a_400(db):
    response = ApiClient("app").post("/auth/2fa", {"code": "123456"})
    assert response.status_code == 400 and response.body["code"] == "expired"


def test_ending_other_sessions_through_the_api_needs_a_fresh_proof(user_factory):
    ada = user_factory("ada")
    client = _logged_in("app", ada)
    _stale(client)
    refused = client.call("delete", "/account/sessions")
    assert refused.status_code == 401 and refused.body["methods"] == ["password"]
    client.post("/auth/reauthenticate", {"password": PASSWORD})
    assert client.call("delete", "/account/sessions").status_code == 200
