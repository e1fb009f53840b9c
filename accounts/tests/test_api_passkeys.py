"""Passkeys through the API, under both client kinds, against real PostgreSQL and Redis: the
options, the session binding of a challenge (an app token's state too), bad answers as problem
details naming their field, and the account's list, rename and remove."""

import pytest

from accounts.models import Intent, Passkey
from testing.users import PASSWORD

from .api_helpers import ApiClient
from .test_passkeys import BAD_ASSERTIONS, BAD_ATTESTATIONS, assertion_shaped, attestation_shaped, passkey_row

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_cache")]
KINDS = ["browser", "app"]


def field_error(response, status=400):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    (error,) = response.body["errors"]
    return error["field"], error["code"]


def logged_in_client(kind, user):
    api = ApiClient(kind)
    response = api.post("/auth/login", {"login": user.username, "password": PASSWORD})
    assert response.status_code == 200
    return api


@pytest.fixture
def ada(user_factory):
    return user_factory("ada")


@pytest.mark.parametrize("kind", KINDS)
def test_login_begin_gives_options_and_holds_the_challenge_in_the_session(kind, settings):
    settings.SITE_URL = "https://example.com"
    api = ApiClient(kind)
    response = api.post("/auth/passkey/login/begin")
    assert response.status_code == 200
    options = response.body["options"]
    assert options["rpId"] == "example.com" and options["userVerification"] == "required"
    assert options["allowCredentials"] == []
    assert (response.body["session_token"] is not None) is (kind == "app")
    # Another client (no cookie, or another token) has no challenge to answer.
    other = ApiClient(kind)
    assert field_error(other.post("/auth/passkey/login/finish", {"credential": assertion_shaped()})) == (
        "credential",
        "challenge_expired",
    )
    # This one has, once.
    assert field_error(api.post("/auth/passkey/login/finish", {"credential": assertion_shaped()})) == (
        "credential",
        "unknown_credential",
    )
    assert field_error(api.post("/auth/passkey/login/finish", {"credential": assertion_shaped()})) == (
        "credential",
        "challenge_expired",
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("credential", BAD_ASSERTIONS.values(), ids=BAD_ASSERTIONS.keys())
def test_login_finish_refuses_malformed_answers(kind, ada, credential):
    api = ApiClient(kind)
    api.post("/auth/passkey/login/begin")
    response = api.post("/auth/passkey/login/finish", {"credential": credential})
    assert response.status_code == 400
    assert response.body["errors"][0]["field"] == "credential"
    assert api.get("/auth/session").body["authenticated"] is False


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("credential", BAD_ATTESTATIONS.values(), ids=BAD_ATTESTATIONS.keys())
def test_adding_refuses_malformed_attestations(kind, ada, credential):
    api = logged_in_client(kind, ada)
    assert api.post("/account/passkeys/begin").status_code == 200
    response = api.post("/account/passkeys", {"credential": credential, "name": "Key"})
    assert response.status_code == 400
    assert response.body["errors"][0]["field"] == "credential"
    assert not Passkey.objects.exists()


@pytest.mark.parametrize("kind", KINDS)
def test_add_begin_names_the_account(kind, ada):
    api = logged_in_client(kind, ada)
    options = api.post("/account/passkeys/begin").body["options"]
    assert options["user"]["name"] == "ada@example.com" and options["user"]["displayName"] == "ada"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    response = api.post("/account/passkeys", {"credential": attestation_shaped(), "name": "a\x00b"})
    assert field_error(response) == ("name", "null_characters")


@pytest.mark.parametrize("kind", KINDS)
def test_list_rename_remove(kind, ada, user_factory):
    api = logged_in_client(kind, ada)  # before the passkey: it would make the log-in wait for it
    mine = passkey_row(ada)
    theirs = passkey_row(user_factory("grace"))
    listed = api.get("/account/passkeys")
    assert listed.status_code == 200
    assert [row["id"] for row in listed.body] == [mine.pk]

    renamed = api.call("patch", f"/account/passkeys/{mine.pk}", {"name": " Phone "})
    assert renamed.status_code == 200 and renamed.body["name"] == "Phone"
    assert field_error(api.call("patch", f"/account/passkeys/{mine.pk}", {"name": "x\x00"})) == (
        "name",
        "null_characters",
    )
    assert field_error(api.call("patch", f"/account/passkeys/{theirs.pk}", {"name": "Mine"}), 404)[1] == "not_found"
    assert api.call("delete", f"/account/passkeys/{theirs.pk}").status_code == 404
    assert api.call("delete", f"/account/passkeys/{2**70}").status_code in (400, 404)
    assert api.call("delete", f"/account/passkeys/{mine.pk}").status_code == 204
    assert list(Passkey.objects.values_list("pk", flat=True)) == [theirs.pk]


@pytest.mark.parametrize("kind", KINDS)
def test_the_account_endpoints_need_a_log_in(kind):
    api = ApiClient(kind)
    assert api.get("/account/passkeys").status_code == 401
    assert api.post("/account/passkeys/begin").status_code == 401


@pytest.mark.parametrize("kind", KINDS)
def test_passkey_sign_up_through_the_api(kind, user_factory):
    user_factory("taken")
    api = ApiClient(kind)
    response = api.post("/auth/passkey/signup/begin", {"email": "nope", "username": "taken"})
    assert response.status_code == 400
    assert {error["field"] for error in response.body["errors"]} == {"email", "username"}
    response = api.post("/auth/passkey/signup/begin", {"email": "new@example.com", "username": "newbie"})
    assert response.status_code == 200 and response.body["options"]["user"]["name"] == "new@example.com"
    response = api.post("/auth/passkey/signup/finish", {"credential": attestation_shaped()})
    assert field_error(response) == ("credential", "invalid")
    assert not Intent.objects.exists()


def test_a_body_without_a_credential_object_is_a_field_error(ada):
    api = ApiClient("app")
    api.post("/auth/passkey/login/begin")
    for body in ({}, {"credential": "x"}, {"credential": [1]}, {"credential": None}):
        response = api.post("/auth/passkey/login/finish", body)
        assert response.status_code == 400, body
