"""The page flows by code: email verification after sign-up, and password reset."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import EmailCaptcha

from .code_helpers import code_from, other_code
from .support import PASSWORD

pytestmark = pytest.mark.usefixtures("postgres", "redis_cache")

NEW = "a brand new passphrase 42"
SIGNUP = {"email": "new@example.com", "username": "newbie", "password1": PASSWORD, "password2": PASSWORD}


def test_sign_up_then_confirm_by_code_in_the_same_browser(outbox, settings):
    settings.ACCOUNTS_EMAIL_VERIFICATION_BY_CODE = True
    browser = Client()
    response = browser.post("/accounts/signup/", SIGNUP)
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm/code/"
    code = code_from(outbox, "new@example.com")
    assert "/accounts/confirm/" not in outbox.last_to("new@example.com").body  # a code, no link
    # The owner of the address, in another browser, cannot confirm someone else's sign-up.
    assert Client().post("/accounts/confirm/code/", {"code": code}).status_code == 400
    assert browser.post("/accounts/confirm/code/", {"code": other_code(code)}).status_code == 400
    response = browser.post("/accounts/confirm/code/", {"code": code})
    assert response.status_code == 302
    user = get_user_model().objects.get(username="newbie")
    assert user.email_confirmed_at is not None
    assert browser.get("/").context["user"] == user


def test_sign_up_with_a_taken_address_shows_the_same_code_page(user_factory, settings, outbox):
    settings.ACCOUNTS_EMAIL_VERIFICATION_BY_CODE = True
    user_factory("new@example.com")
    response = Client().post("/accounts/signup/", {**SIGNUP, "username": "other"})
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm/code/"


def test_password_reset_by_code(user_factory, outbox, settings):
    settings.ACCOUNTS_PASSWORD_RESET_BY_CODE = True
    user = user_factory("ada@example.com")
    browser = Client()
    response = browser.post("/accounts/password/reset/", {"email": "ada@example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/code/"
    page = browser.get(response["Location"]).content.decode()
    assert 'value="ada@example.com"' in page
    code = code_from(outbox, "ada@example.com")
    form = {"email": "ada@example.com", "code": code, "new_password1": NEW, "new_password2": NEW}
    assert browser.post("/accounts/password/reset/code/", {**form, "code": other_code(code)}).status_code == 400
    response = browser.post("/accounts/password/reset/code/", form)
    assert response.status_code == 302, response.content.decode()
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert EmailCaptcha.objects.get(purpose="password_reset").outcome == EmailCaptcha.Outcome.USED
    assert "password" in outbox.last_to("ada@example.com").subject.lower()


def test_reset_code_for_an_address_without_account_answers_the_same(settings, outbox):
    settings.ACCOUNTS_PASSWORD_RESET_BY_CODE = True
    response = Client().post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/code/"
    assert not outbox.messages_to("nobody@example.com")
    assert EmailCaptcha.objects.get(email="nobody@example.com").outcome == EmailCaptcha.Outcome.WITHHELD
