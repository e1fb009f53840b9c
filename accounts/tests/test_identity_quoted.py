"""A quoted local part is one more spelling of the same mailbox (issue: 32 quoted spellings of
carol@example.com each signed up and each had their own rate limits).

By RFC 5321 §4.1.2, `"carol"`, `"\\c\\a\\r\\o\\l"` and `"c\\arol"` are delivered to carol. So they
canonicalise to carol; a local part that still needs its quotes, and an address literal, are
refused with a field error on the pages and in the API.
"""

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from time_machine import travel

from accounts.identity import email_canonical, login_key

from .code_helpers import MORNING

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_cache")]

PASSWORD = "a long enough pass 2"
QUOTED = [
    '"carol"@example.com',
    '"Carol"@Example.com',
    '"CAROL"@EXAMPLE.COM',
    r'"\c\a\r\o\l"@example.com',
    r'"c\arol"@example.com',
    r'"\C\A\R\O\L"@example.com',
    '"carol"@ｅｘａｍｐｌｅ.com',
]


@pytest.mark.parametrize("typed", QUOTED)
def test_a_quoted_spelling_is_the_plain_address(typed):
    assert email_canonical(typed) == "carol@example.com"  # before: '"carol"@example.com' and so on


@pytest.mark.parametrize(
    "typed, canonical",
    [('"c.a+tag"@example.com', "c.a+tag@example.com"), (r'"o\'neil"@example.com', "o'neil@example.com")],
)
def test_any_dot_atom_inside_quotes_is_unquoted(typed, canonical):
    assert email_canonical(typed) == canonical


@pytest.mark.parametrize(
    "typed, code",
    [
        ('"carol smith"@example.com', "quoted_local"),
        ('"carol@home"@example.com', "quoted_local"),
        ('"c..a"@example.com', "quoted_local"),
        ('"a\\"b"@example.com', "quoted_local"),
        ('""@example.com', "quoted_local"),
        ('"carol"x@example.com', "invalid"),  # quotes around part of it: not a quoted string
        ('"car\x01ol"@example.com', "invalid"),
        ("carol@[192.0.2.1]", "address_literal"),
        ("carol@[IPv6:2001:db8::1]", "address_literal"),
    ],
)
def test_what_still_needs_quotes_or_names_an_ip_is_refused(typed, code):
    with pytest.raises(ValidationError) as raised:
        email_canonical(typed)
    assert raised.value.code == code


def test_address_literals_only_with_their_setting(settings):
    settings.ACCOUNTS_ALLOW_ADDRESS_LITERALS_WITHOUT_DNS = True
    assert email_canonical('"Carol"@[192.0.2.1]') == "carol@[192.0.2.1]"
    for typed in ("carol@[192.0.2.256]", "carol@[IPv6:2001:db8::1]", "carol@[192.0.2.1"):
        with pytest.raises(ValidationError) as raised:
            email_canonical(typed)
        assert raised.value.code == "invalid_domain"


def test_signup_with_a_quoted_spelling_of_a_taken_address_is_that_address(client, outbox, user_factory):
    user_factory("carol@example.com", username="carol")
    for n, typed in enumerate(QUOTED[:3]):
        data = {"email": typed, "username": f"squatter{n}", "password1": PASSWORD, "password2": PASSWORD}
        assert Client(REMOTE_ADDR=f"10.0.0.{n}").post("/accounts/signup/", data).status_code == 302
    assert list(get_user_model().objects.values_list("email", flat=True)) == ["carol@example.com"]
    assert {tuple(m.to) for m in outbox.deliver()} == {("carol@example.com",)}  # the owner is told


def test_signup_page_refuses_a_local_part_that_needs_quotes(client):
    data = {"email": '"carol smith"@example.com', "username": "carol", "password1": PASSWORD, "password2": PASSWORD}
    response = client.post("/accounts/signup/", data)
    assert response.status_code == 200
    assert "without quotes" in response.context["form"].errors["email"][0]
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize(
    "typed, code", [('"carol smith"@example.com', "quoted_local"), ("c@[192.0.2.1]", "address_literal")]
)
def test_api_signup_refuses_it_with_a_field_error(typed, code):
    body = {"email": typed, "username": "carol", "password": PASSWORD}
    response = Client().post("/api/v1/app/auth/signup", json.dumps(body), content_type="application/json")
    assert response.status_code == 400, response.content
    assert code in json.dumps(response.json())
    assert not get_user_model().objects.exists()


def test_quoted_spellings_share_the_code_limit(outbox, user_factory):
    user_factory("carol@example.com", username="carol")
    with travel(MORNING, tick=False):
        statuses = [
            Client(REMOTE_ADDR=f"10.0.1.{n}")
            .post(
                "/accounts/code/",
                json.dumps({"email": typed, "purpose": "login"}),
                content_type="application/json",
                headers={"accept": "application/json"},
            )
            .status_code
            for n, typed in enumerate(QUOTED)
        ]
    assert statuses == [202] + [429] * (len(QUOTED) - 1)  # before: one code per spelling
    assert len(outbox.messages_to("carol@example.com")) == 1


def test_log_in_with_a_quoted_spelling_is_carol(client, user_factory):
    user_factory("carol@example.com", username="carol", password=PASSWORD)
    assert len({login_key(typed) for typed in QUOTED}) == 1
    assert (
        client.post("/accounts/login/", {"username": r'"c\arol"@example.com', "password": PASSWORD}).status_code == 302
    )


def test_createsuperuser_stores_the_canonical_address_and_refuses_one_that_needs_quotes():
    call_command("createsuperuser", "--noinput", username="root", email='"Root"@Example.com', verbosity=0)
    assert get_user_model().objects.get(username="root").email == "root@example.com"
    with pytest.raises(CommandError, match="without quotes"):
        call_command("createsuperuser", "--noinput", username="root2", email='"ro@ot"@example.com', verbosity=0)
