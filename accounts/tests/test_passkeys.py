"""Passkeys on the server side (accounts.flows.passkeys and its page doors), against real
PostgreSQL and Redis: bad input is a 400 naming its field, never a 500, and writes nothing;
challenges are single use, bound to the session and expiring; the RP ID comes from SITE_URL;
counters must grow. The ceremonies with real keys are in tests/browser/test_passkeys.py."""

import json
import secrets
import time

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from webauthn.helpers import bytes_to_base64url

from accounts.flows import passkeys
from accounts.flows.email_verification import email_confirm, signup_proof
from accounts.flows.signup import user_register
from accounts.models import Intent, Passkey
from accounts.tokens import confirm_token_generator

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_cache")]


def b64(data):
    return bytes_to_base64url(data)


def assertion_shaped(raw_id=None):
    """An answer with every field a navigator.credentials.get() answer has, signed by nobody."""
    raw_id = raw_id or secrets.token_bytes(32)
    client_data = json.dumps({"type": "webauthn.get", "challenge": b64(b"x" * 32), "origin": "http://localhost"})
    return {
        "id": b64(raw_id),
        "rawId": b64(raw_id),
        "type": "public-key",
        "response": {
            "clientDataJSON": b64(client_data.encode()),
            "authenticatorData": b64(secrets.token_bytes(37)),
            "signature": b64(secrets.token_bytes(70)),
        },
    }


def attestation_shaped():
    client_data = json.dumps({"type": "webauthn.create", "challenge": b64(b"x" * 32), "origin": "http://localhost"})
    raw_id = secrets.token_bytes(32)
    return {
        "id": b64(raw_id),
        "rawId": b64(raw_id),
        "type": "public-key",
        "response": {"clientDataJSON": b64(client_data.encode()), "attestationObject": b64(b"\xa0")},
    }


def post(client, name, body):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(reverse(name), data=data, content_type="application/json", HTTP_ACCEPT="application/json")


def error_of(response, field="credential"):
    assert response.status_code == 400, response.content
    return response.json()["errors"][field][0]["code"]


def passkey_row(user, *, sign_count=0):
    return Passkey.objects.create(
        user=user,
        name="Key",
        credential_id=secrets.token_bytes(32),
        user_handle=secrets.token_bytes(32),
        public_key=b"not a key",
        sign_count=sign_count,
    )


@pytest.fixture
def ada(user_factory):
    return user_factory("ada")


@pytest.fixture
def ada_client(ada):
    client = Client()
    client.force_login(ada)
    return client


def logged_in(client):
    return client.get(reverse("accounts:settings")).status_code == 200


# ------------------------------------------------------------------------------------------------
# Log-in: bad answers are refused, and nothing changes
# ------------------------------------------------------------------------------------------------
BAD_ASSERTIONS = {
    "not an object": "x",
    "a list": [1, 2],
    "missing fields": {"id": "abc"},
    "not base64": {**assertion_shaped(), "rawId": "***"},
    "NUL bytes": {**assertion_shaped(), "id": "a\x00b"},
    "huge base64": {**assertion_shaped(), "rawId": "A" * 80_000},
    "a response that is a string": {**assertion_shaped(), "response": "x"},
    "numbers for bytes": {
        **assertion_shaped(),
        "response": {"clientDataJSON": 5, "authenticatorData": [], "signature": {}},
    },
}


@pytest.mark.parametrize("credential", BAD_ASSERTIONS.values(), ids=BAD_ASSERTIONS.keys())
def test_login_refuses_malformed_answers(client, ada, credential):
    known = passkey_row(ada, sign_count=3)
    assert post(client, "accounts:passkey-login-begin", {}).status_code == 200
    response = post(client, "accounts:passkey-login-finish", {"credential": credential})
    assert error_of(response) in {"malformed", "invalid", "too_large", "unknown_credential"}
    assert not logged_in(client)
    known.refresh_from_db()
    assert known.sign_count == 3 and known.last_used_at is None


@pytest.mark.parametrize(
    "body", [b"{", b"[]", b'"x"', b"\x00\xff", b"[" * 100_000, json.dumps({"credential": "A" * 200_000}).encode()]
)
def test_login_refuses_bodies_that_are_not_a_json_object(client, body):
    response = post(client, "accounts:passkey-login-finish", body)
    assert response.status_code == 400
    assert "errors" in response.json()


def test_an_unknown_credential_is_a_field_error(client, ada):
    passkey_row(ada)
    post(client, "accounts:passkey-login-begin", {})
    response = post(client, "accounts:passkey-login-finish", {"credential": assertion_shaped()})
    assert error_of(response) == "unknown_credential"
    assert not logged_in(client)


def test_a_challenge_is_used_once(client, ada):
    post(client, "accounts:passkey-login-begin", {})
    first = post(client, "accounts:passkey-login-finish", {"credential": assertion_shaped()})
    again = post(client, "accounts:passkey-login-finish", {"credential": assertion_shaped()})
    assert error_of(first) == "unknown_credential"
    assert error_of(again) == "challenge_expired"


def test_a_challenge_is_bound_to_its_session(client, ada):
    post(client, "accounts:passkey-login-begin", {})
    other = Client()
    response = post(other, "accounts:passkey-login-finish", {"credential": assertion_shaped()})
    assert error_of(response) == "challenge_expired"


def test_a_challenge_expires(client, settings):
    settings.ACCOUNTS_PASSKEY_CHALLENGE_TIMEOUT = 300
    with time_machine.travel(time.time(), tick=False) as traveller:
        post(client, "accounts:passkey-login-begin", {})
        traveller.shift(301)
        response = post(client, "accounts:passkey-login-finish", {"credential": assertion_shaped()})
    assert error_of(response) == "challenge_expired"


def test_a_challenge_copied_into_another_session_is_used_once():
    """The session alone is not the guard: the cache mark is deleted by exactly one finish."""
    store = {}
    passkeys.passkey_login_begin(store=store)
    copy = dict(store)
    passkeys._challenge_take(store=store, purpose=passkeys.LOGIN)
    with pytest.raises(passkeys.PasskeyError) as refused:
        passkeys._challenge_take(store=copy, purpose=passkeys.LOGIN)
    assert refused.value.code == "challenge_expired"


def test_a_challenge_of_one_ceremony_does_not_finish_another(ada_client):
    post(ada_client, "accounts:passkey-login-begin", {})
    response = post(ada_client, "accounts:passkey-register-finish", {"credential": attestation_shaped()})
    assert error_of(response) == "challenge_expired"


# ------------------------------------------------------------------------------------------------
# The relying party is SITE_URL's, whatever the Host header says
# ------------------------------------------------------------------------------------------------
def test_rp_id_comes_from_site_url_not_the_host_header(settings, ada_client):
    settings.SITE_URL = "https://accounts.example.com:8443"
    settings.ALLOWED_HOSTS = ["*"]
    login = post(Client(HTTP_HOST="evil.example"), "accounts:passkey-login-begin", {}).json()["options"]
    register = ada_client.post(
        reverse("accounts:passkey-register-begin"), content_type="application/json", HTTP_HOST="evil.example"
    ).json()["options"]
    assert login["rpId"] == "accounts.example.com"
    assert register["rp"]["id"] == "accounts.example.com"
    assert passkeys.passkey_origin() == "https://accounts.example.com:8443"
    assert register["authenticatorSelection"]["residentKey"] == "required"
    assert register["user"]["name"] == "ada@example.com"


def test_registration_options_exclude_the_accounts_passkeys(ada, ada_client):
    known = passkey_row(ada)
    options = post(ada_client, "accounts:passkey-register-begin", {}).json()["options"]
    assert [item["id"] for item in options["excludeCredentials"]] == [b64(bytes(known.credential_id))]
    assert options["user"]["id"] == b64(bytes(known.user_handle))  # one handle per account


# ------------------------------------------------------------------------------------------------
# Registration: bad answers and names
# ------------------------------------------------------------------------------------------------
BAD_ATTESTATIONS = {
    "not an object": 7,
    "empty": {},
    "attestation not CBOR": {
        **attestation_shaped(),
        "response": {"clientDataJSON": "e30", "attestationObject": "////"},
    },
    "client data not JSON": {
        **attestation_shaped(),
        "response": {"clientDataJSON": b64(b"\xff\xfe"), "attestationObject": b64(b"\xa0")},
    },
    "NUL bytes": {**attestation_shaped(), "type": "public-key\x00"},
    "huge base64": {**attestation_shaped(), "response": {"clientDataJSON": "A" * 70_000, "attestationObject": "A"}},
    "shaped, signed by nobody": attestation_shaped(),
}


@pytest.mark.parametrize("credential", BAD_ATTESTATIONS.values(), ids=BAD_ATTESTATIONS.keys())
def test_registration_refuses_malformed_attestations(ada, ada_client, credential):
    post(ada_client, "accounts:passkey-register-begin", {})
    response = post(ada_client, "accounts:passkey-register-finish", {"credential": credential, "name": "Key"})
    assert error_of(response) in {"malformed", "invalid", "too_large"}
    assert not Passkey.objects.exists()


@pytest.mark.parametrize("name, code", [("a\x00b", "null_characters"), ("x" * 65, "max_length")])
def test_registration_refuses_bad_names_before_using_the_challenge(ada_client, name, code):
    post(ada_client, "accounts:passkey-register-begin", {})
    response = post(ada_client, "accounts:passkey-register-finish", {"credential": attestation_shaped(), "name": name})
    assert error_of(response, "name") == code
    assert not Passkey.objects.exists()


def test_registration_needs_a_log_in(client):
    response = post(client, "accounts:passkey-register-begin", {})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# ------------------------------------------------------------------------------------------------
# Naming and removing: only one's own, and names the database can hold
# ------------------------------------------------------------------------------------------------
def test_rename_and_remove(ada, ada_client):
    mine = passkey_row(ada)
    response = ada_client.post(reverse("accounts:passkey-rename", args=[mine.pk]), {"name": "  Phone  "})
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.name == "Phone"
    page = ada_client.get(reverse("accounts:passkeys")).content.decode()
    assert 'value="Phone"' in page
    ada_client.post(reverse("accounts:passkey-remove", args=[mine.pk]))
    assert not Passkey.objects.filter(pk=mine.pk).exists()


@pytest.mark.parametrize("name", ["a\x00b", "x" * 65])
def test_rename_refuses_bad_names(ada, ada_client, name):
    mine = passkey_row(ada)
    response = ada_client.post(reverse("accounts:passkey-rename", args=[mine.pk]), {"name": name}, follow=True)
    assert response.status_code == 200
    assert list(response.context["messages"])
    mine.refresh_from_db()
    assert mine.name == "Key"


def test_someone_elses_passkey_cannot_be_renamed_or_removed(user_factory, ada_client):
    theirs = passkey_row(user_factory("grace"))
    ada_client.post(reverse("accounts:passkey-rename", args=[theirs.pk]), {"name": "Mine now"})
    ada_client.post(reverse("accounts:passkey-remove", args=[theirs.pk]))
    theirs.refresh_from_db()
    assert theirs.name == "Key"


def test_remove_refuses_ids_out_of_range(ada):
    for passkey_id in (0, -1, 2**63, "1"):
        with pytest.raises(passkeys.PasskeyError):
            passkeys.passkey_remove(user=ada, passkey_id=passkey_id)


# ------------------------------------------------------------------------------------------------
# Counters: a count that does not grow is refused
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "stored, new, accepted", [(5, 6, True), (5, 5, False), (5, 2, False), (0, 0, True), (3, 0, False)]
)
def test_sign_count_must_grow_where_it_is_kept(ada, stored, new, accepted):
    row = passkey_row(ada, sign_count=stored)
    if accepted:
        passkeys._counter_advance(passkey=row, new_count=new)
    else:
        with pytest.raises(passkeys.PasskeyError):
            passkeys._counter_advance(passkey=row, new_count=new)
    row.refresh_from_db()
    assert row.sign_count == (new if accepted else stored)
    assert (row.last_used_at is not None) is accepted


def test_two_uses_checked_against_one_count_only_one_wins(ada):
    row = passkey_row(ada, sign_count=5)
    stale = Passkey.objects.get(pk=row.pk)
    passkeys._counter_advance(passkey=row, new_count=6)
    with pytest.raises(passkeys.PasskeyError):
        passkeys._counter_advance(passkey=stale, new_count=6)


# ------------------------------------------------------------------------------------------------
# Sign-up with a passkey
# ------------------------------------------------------------------------------------------------
def test_passkey_sign_up_validates_like_sign_up(client, user_factory):
    user_factory("taken")
    response = post(client, "accounts:passkey-signup-begin", {"email": "nope", "username": "taken"})
    errors = response.json()["errors"]
    assert response.status_code == 400 and set(errors) == {"email", "username"}
    response = post(client, "accounts:passkey-signup-begin", {"email": "a\x00@example.com", "username": "x\x00"})
    assert response.status_code == 400
    response = post(client, "accounts:passkey-signup-begin", {"email": ["x"], "username": {"y": 1}})
    assert response.status_code == 400


def test_passkey_sign_up_with_a_bad_answer_records_nothing(client):
    options = post(client, "accounts:passkey-signup-begin", {"email": "new@example.com", "username": "newbie"})
    assert options.status_code == 200
    assert options.json()["options"]["user"]["name"] == "new@example.com"
    response = post(client, "accounts:passkey-signup-finish", {"credential": attestation_shaped()})
    assert error_of(response) == "invalid"
    assert not Intent.objects.exists() and not get_user_model().objects.filter(username="newbie").exists()


def _passkey_signup(email="new@example.com"):
    data = {
        "name": "Key",
        "credential_id": b64(secrets.token_bytes(16)),
        "user_handle": b64(secrets.token_bytes(32)),
        "public_key": b64(b"key"),
        "sign_count": 0,
        "transports": ["internal"],
        "backed_up": False,
    }
    from django.contrib.auth.hashers import make_password

    return user_register(email=email, username="newbie", password_hash=make_password(None), passkey=data)


def test_a_passkey_made_at_sign_up_is_kept_by_the_client_that_signed_up():
    user = _passkey_signup()
    token = confirm_token_generator.make_token(user=user, email=user.email)
    email_confirm(token=token, proofs=[signup_proof(user=user)])
    assert Passkey.objects.filter(user=user).count() == 1


def test_a_passkey_made_at_sign_up_is_dropped_when_another_client_confirms():
    """Someone else may have signed up with this address (a squatter), with their own passkey."""
    user = _passkey_signup()
    token = confirm_token_generator.make_token(user=user, email=user.email)
    email_confirm(token=token, proofs=[])
    user.refresh_from_db()
    assert user.email_confirmed_at is not None
    assert not Passkey.objects.filter(user=user).exists()
