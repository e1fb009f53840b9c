"""Emailed links are bound to the account's security state: a password change or reset, or a
change of address, kills every link made before it."""

import pytest
from django.test import Client

from accounts.flows import email_verification
from accounts.tokens import TokenInvalid, confirm_token_generator

from .support import NEW_PASSWORDS, PASSWORD, link_path  # noqa: F401

pytestmark = pytest.mark.django_db


def thief_requests_a_change(user, outbox):
    thief = Client()
    assert thief.post("/accounts/login/", {"username": "ada", "password": PASSWORD}).status_code == 302
    thief.post("/accounts/email/change/", {"email": "thief@example.com", "password": PASSWORD})
    return thief, link_path(outbox.last_to("thief@example.com"), "/accounts/email/change/confirm/")


def test_a_password_reset_kills_the_thiefs_email_change_link(outbox, user_factory):
    user = user_factory()
    thief, path = thief_requests_a_change(user, outbox)
    owner = Client()  # notices, and resets the password through the emailed link
    owner.post("/accounts/password/reset/", {"email": "ada@example.com"})
    reset = owner.get(link_path(outbox.last_to("ada@example.com"), "/accounts/password/reset/"))
    assert owner.post(reset["Location"], NEW_PASSWORDS).status_code == 302

    response = thief.post(path)
    assert response.status_code == 400  # before: the account moved to the thief's address
    user.refresh_from_db()
    assert user.email == "ada@example.com"


def test_a_password_change_kills_the_email_change_link(outbox, user_factory):
    user = user_factory()
    _thief, path = thief_requests_a_change(user, outbox)
    owner = Client()
    owner.force_login(user)
    data = {"old_password": PASSWORD, **NEW_PASSWORDS}
    assert owner.post("/accounts/password/change/", data).status_code == 302
    assert Client().post(path).status_code == 400
    user.refresh_from_db()
    assert user.email == "ada@example.com"


def test_a_change_of_address_or_password_kills_a_confirmation_link(user_factory):
    user = user_factory(confirmed=False)
    token = confirm_token_generator.make_token(user=user, email=user.email)
    assert email_verification.email_confirm_check(token=token) == user
    user.set_password("something else entirely")
    user.save()
    with pytest.raises(TokenInvalid):
        email_verification.email_confirm_check(token=token)
    token = confirm_token_generator.make_token(user=user, email=user.email)
    user.email = "moved@example.com"
    user.save()
    with pytest.raises(TokenInvalid):
        email_verification.email_confirm(token=token, new_password="whatever it is now")
