"""Account pages: logging in on confirmation (never another browser), the account menu, and one
log-in message however you log in."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from testing.users import PASSWORD

from .support import NEW_PASSWORDS, link_path

pytestmark = pytest.mark.django_db

SIGNUP = {"email": "ada@example.com", "username": "ada", "password1": PASSWORD, "password2": PASSWORD}


def user_of(client):
    return client.get("/").context["user"]


def confirm_path(client, outbox):
    assert client.post("/accounts/signup/", SIGNUP).status_code == 302
    return link_path(outbox.last_to("ada@example.com"), "/accounts/confirm/")


def test_confirming_from_the_browser_that_signed_up_logs_in(client, outbox):
    path = confirm_path(client, outbox)
    response = client.post(path)
    assert response["Location"] == "/"
    assert user_of(client).username == "ada"


def test_confirming_from_another_browser_never_logs_in(client, outbox):
    path = confirm_path(client, outbox)
    other = Client()
    assert other.post(path, NEW_PASSWORDS).status_code == 302  # a new password, as the squatting rule says
    assert not user_of(other).is_authenticated
    assert not user_of(client).is_authenticated  # and the browser that signed up has the old password


def test_the_setting_turns_logging_in_off(client, outbox, settings):
    settings.ACCOUNTS_LOGIN_ON_EMAIL_CONFIRMATION = False
    path = confirm_path(client, outbox)
    assert client.post(path)["Location"] == "/accounts/login/"
    assert not user_of(client).is_authenticated


def test_an_account_without_a_password_is_confirmed_but_not_logged_in(client, outbox):
    path = confirm_path(client, outbox)
    user = get_user_model().objects.get()
    user.set_unusable_password()
    user.save()
    other = Client()
    other.post(path)
    assert not user_of(other).is_authenticated


def test_password_and_code_log_ins_say_the_same(user_factory, outbox):
    user_factory("ada")
    by_password = Client()
    response = by_password.post("/accounts/login/", {"username": "ada", "password": PASSWORD}, follow=True)
    said = [str(message) for message in response.context["messages"]]
    assert said == ["You are logged in as ada."]

    by_code = Client()
    by_code.post("/accounts/login/code/", {"email": "ada@example.com"}, follow=True)  # reads "a code is on its way"
    body = outbox.last_to("ada@example.com").body
    code = next(line.strip() for line in body.splitlines() if line.strip().isdigit())
    response = by_code.post("/accounts/login/code/confirm/", {"email": "ada@example.com", "code": code}, follow=True)
    assert [str(message) for message in response.context["messages"]] == said


def test_the_account_menu_links_profile_settings_and_log_out(user_factory, client):
    client.force_login(user_factory("ada"))
    page = client.get("/").content.decode()
    for href in (
        "/u/ada/",
        "/accounts/settings/",
        "/accounts/email/change/",
        "/accounts/password/change/",
        "/settings/notifications/",
    ):
        assert f'href="{href}"' in page
    assert 'action="/accounts/logout/"' in page


def test_wrong_codes_answer_the_same_on_sign_up_and_code_log_in(user_factory, client, outbox):
    user_factory("bob")
    signup = client.post("/accounts/signup/", {**SIGNUP, "code": "000000"})
    log_in = client.post("/accounts/login/code/confirm/", {"email": "bob@example.com", "code": "000000"})
    assert signup.status_code == log_in.status_code == 200
    assert b"That code is wrong" in log_in.content


def test_send_a_new_code_starts_disabled_after_a_code_was_sent(user_factory, client, outbox):
    user_factory("ada")
    page = client.get("/accounts/login/code/confirm/").content.decode()
    assert "data-retry-after" not in page  # nothing sent yet: the button works
    response = client.post("/accounts/login/code/", {"email": "ada@example.com"}, follow=True)
    page = response.content.decode()
    button = page[page.index("data-send-code") : page.index("</button>", page.index("data-send-code"))]
    assert 'data-retry-after="' in button and "disabled" in button  # send-code.js counts down from there
    assert "It works once, for 10 minutes." in page and "a few minutes" not in page
