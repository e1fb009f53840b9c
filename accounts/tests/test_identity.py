"""One canonical form for an address and for a username, and exact matches only (issue: a
look-alike address logged in to someone else's account).

The attack: carol@gmail.com has an account. PostgreSQL's UPPER('ı') is 'I', so an `iexact`
lookup of carol@gmaıl.com (dotless ı) found carol, while the code went to the typed spelling,
carol@xn--gmal-nza.com, a domain anyone can register.
"""

import json
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client

from accounts.identity import email_canonical, login_key, username_key
from accounts.models import EmailCaptcha

from .code_helpers import MORNING, code_from

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_cache")]

LOOKALIKE = "carol@gmaıl.com"  # U+0131 LATIN SMALL LETTER DOTLESS I


def send_json(client, email, purpose="login"):
    return client.post(
        "/accounts/code/",
        json.dumps({"email": email, "purpose": purpose}),
        content_type="application/json",
        headers={"accept": "application/json"},
    )


@pytest.mark.parametrize(
    "typed, canonical",
    [
        ("Carol@Gmail.COM", "carol@gmail.com"),
        ("carol@ｇｍａｉｌ.ｃｏｍ", "carol@gmail.com"),  # full-width: UTS 46 maps it
        (" carol@gmail.com. ", "carol@gmail.com"),
        (LOOKALIKE, "carol@xn--gmal-nza.com"),  # another domain, and it stays another one
        ("ada@Bücher.de", "ada@xn--bcher-kva.de"),
    ],
)
def test_one_canonical_form(typed, canonical):
    assert email_canonical(typed) == canonical


@pytest.mark.parametrize(
    "typed, code",
    [
        ("carolı@gmail.com", "non_ascii_local"),
        ("ｃａｒｏｌ@gmail.com", "non_ascii_local"),
        ("carol@xn--zz.com", "invalid_domain"),
        ("carol@exa_mple.com", "invalid_domain"),
        ("carol", "invalid"),
        ("", "required"),
    ],
)
def test_what_has_no_canonical_form_is_refused(typed, code):
    with pytest.raises(ValidationError) as raised:
        email_canonical(typed)
    assert raised.value.code == code


def test_lookalike_login_code_mails_nobody_and_never_logs_in_as_carol(client, outbox, user_factory):
    carol = user_factory("carol@gmail.com", username="carol")
    with time_machine.travel(MORNING, tick=False):
        assert client.post("/accounts/login/code/", {"email": LOOKALIKE}).status_code == 302
        delivered = outbox.deliver()
        assert [m.to for m in delivered] == []  # before: a code to carol@xn--gmal-nza.com
        assert EmailCaptcha.objects.get().email == "carol@xn--gmal-nza.com"
    with time_machine.travel(MORNING + timedelta(minutes=2), tick=False):
        # The attacker owns gmaıl.com, so a sign-up code for that address does reach them ...
        assert send_json(Client(), LOOKALIKE, purpose="signup").status_code == 202
        attackers_code = code_from(outbox, "carol@xn--gmal-nza.com")
        # ... and it opens nothing of carol's, typed with either spelling.
        for email in (LOOKALIKE, "carol@gmail.com"):
            response = client.post("/accounts/login/code/confirm/", {"email": email, "code": attackers_code})
            assert response.status_code == 200 and b"That code is wrong" in response.content
        assert "_auth_user_id" not in client.session
    assert all(m.to == ["carol@gmail.com"] for m in outbox.deliver() if "carol@gmail.com" in m.to)
    assert get_user_model().objects.get(pk=carol.pk).email == "carol@gmail.com"


def test_login_code_goes_to_the_stored_address_whatever_the_spelling(client, outbox, user_factory):
    user_factory("carol@gmail.com", username="carol")
    with time_machine.travel(MORNING, tick=False):
        client.post("/accounts/login/code/", {"email": "CAROL@ｇｍａｉｌ.ｃｏｍ"})
        message = outbox.last_to("carol@gmail.com")
        assert message.to == ["carol@gmail.com"]
        code = code_from(outbox, "carol@gmail.com")
        response = client.post("/accounts/login/code/confirm/", {"email": "Carol@GMAIL.com", "code": code})
        assert response.status_code == 302
        assert client.session["_auth_user_id"]


def test_every_spelling_shares_one_rate_limit_bucket(outbox, user_factory):
    user_factory("carol@gmail.com", username="carol")
    spellings = [
        "carol@gmail.com",
        "CAROL@gmail.com",
        "carol@GMAIL.COM",
        "carol@ｇｍａｉｌ.com",
        "carol@ｇｍａｉｌ.ｃｏｍ",
        "carol@Ｇｍａｉｌ.ｃｏｍ",
        "Carol@ｇＭａｉｌ.ｃｏｍ",
        "carol@gmail.com.",
    ]
    with time_machine.travel(MORNING, tick=False):
        statuses = [send_json(Client(REMOTE_ADDR=f"10.0.0.{n}"), e).status_code for n, e in enumerate(spellings)]
    assert statuses == [202] + [429] * 7  # before: eight codes at once
    assert len(outbox.messages_to("carol@gmail.com")) == 1


@pytest.mark.parametrize("email, code", [("carolı@gmail.com", "non_ascii_local"), ("c@xn--zz.com", "invalid_domain")])
def test_json_endpoint_refuses_undeliverable_addresses_with_a_field_error(client, email, code):
    response = send_json(client, email)
    assert response.status_code == 400
    assert response.json()["errors"]["email"][0]["code"] == code
    assert not EmailCaptcha.objects.exists()


def test_signup_page_refuses_a_non_ascii_local_part(client):
    data = {"email": "carolı@gmail.com", "username": "carol", "password1": "x" * 20, "password2": "x" * 20}
    response = client.post("/accounts/signup/", data)
    assert response.status_code == 200
    assert "only Latin letters" in response.context["form"].errors["email"][0]
    assert not get_user_model().objects.exists()


def test_signup_with_another_spelling_of_a_taken_address_makes_no_second_account(client, outbox, user_factory):
    user_factory("carol@gmail.com", username="carol")
    password = "a long enough pass 2"
    data = {"email": "Carol@ｇｍａｉｌ.ｃｏｍ", "username": "carol2", "password1": password, "password2": password}
    assert client.post("/accounts/signup/", data).status_code == 302
    assert list(get_user_model().objects.values_list("email", flat=True)) == ["carol@gmail.com"]
    assert outbox.last_to("carol@gmail.com").to == ["carol@gmail.com"]  # the owner is told


def test_the_database_refuses_a_second_spelling(postgres, user_factory):
    user_factory("carol@gmail.com", username="carol")
    for email, username in [("CAROL@ｇｍａｉｌ.com", "other"), ("x@example.com", "CAROL")]:
        with pytest.raises(IntegrityError), transaction.atomic():
            get_user_model()(email=email, username=username, password="!").save()
    assert get_user_model().objects.count() == 1


def test_usernames_have_one_normal_form(client, user_factory):
    user_factory("carol@gmail.com", username="Carol", password="a long enough pass 1")
    users = get_user_model().objects
    assert users.get(username="Carol").username_key == "carol"
    assert users.get_by_natural_key("ＣＡＲＯＬ").username == "Carol"  # NFKC, then case-folded
    assert username_key("carolı") != "caroli" and not users.filter(username_key=username_key("carolı")).exists()
    response = client.post("/accounts/login/", {"username": "ｃａｒｏｌ", "password": "a long enough pass 1"})
    assert response.status_code == 302
    assert Client().get("/u/CAROL/").status_code == 200
    assert Client().get("/u/carolı/").status_code == 404  # before: PostgreSQL's UPPER matched "carol"


def test_login_rate_limit_key_is_the_identity():
    assert len({login_key(name) for name in ("Carol@Gmail.com", "carol@ｇｍａｉｌ.ｃｏｍ", "carol@gmail.com")}) == 1
    assert login_key("ＣＡＲＯＬ") == login_key("carol")
