"""Passkeys in the second factor and re-authentication (accounts.flows.mfa), in the pages and the
API, against real PostgreSQL and Redis. The ceremonies with real keys are in
tests/browser/test_passkeys.py."""

import time

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from webauthn.helpers import bytes_to_base64url

from accounts.flows import mfa
from accounts.models import Passkey
from testing.users import PASSWORD

from .api_helpers import ApiClient
from .test_passkeys import assertion_shaped, passkey_row, post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_cache")]
KINDS = ["browser", "app"]


@pytest.fixture
def ada(user_factory):
    return user_factory("ada")


def test_a_passkey_is_a_second_factor(ada):
    assert mfa.second_factor_methods(ada) == []
    before = mfa.security_state(ada)
    row = passkey_row(ada)
    assert mfa.second_factor_methods(ada) == ["passkey"]
    assert "passkey" in mfa.reauth_methods(ada)
    added = mfa.security_state(ada)
    assert added != before  # a pending log-in or a trusted browser dies with the change
    row.delete()
    assert mfa.security_state(ada) == before


@pytest.mark.parametrize("kind", KINDS)
def test_a_password_log_in_waits_for_the_passkey(kind, ada):
    known = passkey_row(ada)
    api = ApiClient(kind)
    session = api.post("/auth/login", {"login": "ada", "password": PASSWORD}).body
    assert session["authenticated"] is False
    assert "second_factor" in session["pending"] and session["second_factor_methods"] == ["passkey"]
    options = api.post("/auth/2fa/passkey/begin").body["options"]
    assert [c["id"] for c in options["allowCredentials"]] == [bytes_to_base64url(bytes(known.credential_id))]
    refused = api.post("/auth/2fa/passkey", {"credential": assertion_shaped()})
    assert refused.status_code == 400 and refused.body["errors"][0]["code"] == "unknown_credential"
    # Another account's passkey is unknown here too: only the waiting account's count.
    assert api.get("/auth/session").body["authenticated"] is False


@pytest.mark.parametrize("kind", KINDS)
def test_the_passkey_step_needs_a_waiting_log_in(kind):
    api = ApiClient(kind)
    response = api.post("/auth/2fa/passkey/begin")
    assert response.status_code == 400 and response.body["code"] == "expired"
    assert api.post("/auth/2fa/passkey", {"credential": assertion_shaped()}).status_code == 400


@pytest.mark.parametrize("kind", KINDS)
def test_adding_or_removing_a_passkey_needs_a_fresh_proof(kind, ada):
    mine = passkey_row(ada)
    Passkey.objects.filter(pk=mine.pk).delete()  # no second factor: the password logs in at once
    with time_machine.travel(time.time(), tick=False) as traveller:
        api = ApiClient(kind)
        assert api.post("/auth/login", {"login": "ada", "password": PASSWORD}).body["authenticated"]
        again = passkey_row(ada)
        assert api.post("/account/passkeys/begin").status_code == 200  # the log-in was the proof
        traveller.shift(301)
        for response in (
            api.post("/account/passkeys/begin"),
            api.call("delete", f"/account/passkeys/{again.pk}"),
        ):
            assert response.status_code == 401
            assert response.body["code"] == "reauthentication_required"
            assert "passkey" in response.body["methods"]
        assert Passkey.objects.filter(pk=again.pk).exists()
        options = api.post("/auth/reauthenticate/passkey/begin").body["options"]
        assert options["allowCredentials"][0]["id"] == bytes_to_base64url(bytes(again.credential_id))
        refused = api.post("/auth/reauthenticate/passkey", {"credential": assertion_shaped()})
        assert refused.status_code == 400
        assert api.post("/account/passkeys/begin").status_code == 401  # still no proof


def test_the_pages_ask_for_a_fresh_proof_too(ada):
    client = Client()
    with time_machine.travel(time.time(), tick=False) as traveller:
        client.post(reverse("accounts:login"), {"username": "ada", "password": PASSWORD})
        assert client.get(reverse("accounts:passkeys")).status_code == 200
        mine = passkey_row(ada)
        traveller.shift(301)
        page = client.get(reverse("accounts:passkeys"))
        assert page.status_code == 302 and page["Location"].startswith(reverse("accounts:reauthenticate"))
        begin = post(client, "accounts:passkey-register-begin", {})
        assert begin.status_code == 401
        assert begin.json()["errors"]["__all__"][0]["code"] == "reauthentication_required"
        client.post(reverse("accounts:passkey-remove", args=[mine.pk]))
        assert Passkey.objects.filter(pk=mine.pk).exists()
        reauth = client.get(reverse("accounts:reauthenticate")).content.decode()
        assert "Use a passkey" in reauth


def test_the_second_factor_page_offers_the_passkey(ada):
    passkey_row(ada)
    client = Client()
    response = client.post(reverse("accounts:login"), {"username": "ada", "password": PASSWORD})
    assert response["Location"] == reverse("accounts:login-second-factor")
    page = client.get(response["Location"]).content.decode()
    assert "Use a passkey" in page and reverse("accounts:passkey-second-factor-begin") in page
    refused = post(client, "accounts:passkey-second-factor-finish", {"credential": assertion_shaped()})
    assert refused.status_code == 400
    assert client.get(reverse("accounts:settings")).status_code == 302
