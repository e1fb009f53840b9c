"""Each flow end to end: the test client for the person's browser, the outbox for their inbox.
Links are read out of the delivered mail, as a person would click them."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from notifications.models import OutboundEmail

from .support import NEW_PASSWORDS, PASSWORD, html_of, link_path  # noqa: F401

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new long passphrase"
SIGNUP = {"email": "new@example.com", "username": "newbie", "password1": PASSWORD, "password2": PASSWORD}


def users():
    return get_user_model().objects


def logged_in_user(client):
    return client.get("/").context["user"]


def same_page(response, *, email=None):
    """A page body with what legitimately differs (the masked CSRF token, the address typed)
    taken out, for comparing the answers to a known and an unknown address."""
    body = response.content.decode()
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)
    return body.replace(email, "<email>") if email else body


# ------------------------------------------------------------------------------------------------
# Sign-up and confirmation
# ------------------------------------------------------------------------------------------------
def test_signup_confirm_then_login(client, outbox):
    response = client.post("/accounts/signup/", {**SIGNUP, "email": "New@Example.com"})
    assert response.status_code == 302
    user = users().get()
    assert user.email_confirmed_at is None

    row = outbox.rows().get()
    assert (row.template, row.category, row.sensitive, row.recipients) == ("confirm", "urgent", True, "new@example.com")
    message = outbox.last_to("new@example.com")
    assert message.subject == "Confirm your email address for mailsite"
    path = link_path(message, "/accounts/confirm/")
    token = path.split("/")[-2]
    assert "newbie" in message.body and "3\xa0days" in message.body

    # Delivered sensitive mail keeps no working link at rest.
    row.refresh_from_db()
    assert row.redacted and token not in str(row.payload) and "[redacted]" in str(row.payload)

    # Logging in before confirming is refused.
    response = client.post("/accounts/login/", {"username": "newbie", "password": PASSWORD})
    assert "Please confirm your email address first" in response.content.decode()

    # GET (what a mail scanner does) shows a button and confirms nothing.
    response = client.get(path)
    assert response.status_code == 200 and "Confirm" in response.content.decode()
    user.refresh_from_db()
    assert user.email_confirmed_at is None

    # Confirmed from the browser that signed up: logged in at once (LOGIN_ON_EMAIL_CONFIRMATION).
    response = client.post(path)
    assert response.status_code == 302 and response["Location"] == "/"
    user.refresh_from_db()
    assert user.email_confirmed_at is not None
    page = client.get(response["Location"]).content.decode()
    assert "new@example.com is confirmed" in page and "You are logged in as newbie." in page
    assert logged_in_user(client) == user

    client.post("/accounts/logout/")
    response = client.post("/accounts/login/", {"username": "new@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert logged_in_user(client) == user

    # The link is single-use: a second POST is a 400 that changes nothing.
    confirmed_at = user.email_confirmed_at
    response = client.post(path)
    assert response.status_code == 400
    assert "already used" in response.content.decode()
    user.refresh_from_db()
    assert user.email_confirmed_at == confirmed_at


def test_confirm_link_expires_and_a_new_one_can_be_asked_for(client, outbox):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.post("/accounts/signup/", SIGNUP)
    old_path = link_path(outbox.last_to("new@example.com"), "/accounts/confirm/")

    with time_machine.travel(start + timedelta(days=3, minutes=1), tick=False):
        for method in (client.get, client.post):
            response = method(old_path)
            assert response.status_code == 400
            body = response.content.decode()
            assert "expired" in body and f'action="{reverse("accounts:confirm-resend")}"' in body
        assert users().get().email_confirmed_at is None

        response = client.post("/accounts/confirm/resend/", {"email": "new@example.com"})
        assert response.status_code == 302
        new_path = link_path(outbox.last_to("new@example.com"), "/accounts/confirm/")
        assert new_path != old_path
        assert client.post(new_path).status_code == 302
    assert users().get().email_confirmed_at is not None


def test_signup_with_a_valid_code_confirms_and_logs_in_without_a_link(client, outbox):
    from accounts.flows.code_verification import code_send

    code_send(email="new@example.com", purpose="signup", ip="127.0.0.1")
    code = re.search(r"^\s*(\d{6})\s*$", outbox.last_to("new@example.com").body, re.M).group(1)
    sent_before = OutboundEmail.objects.count()

    response = client.post("/accounts/signup/", {**SIGNUP, "code": code})
    assert response.status_code == 302 and response["Location"] == "/"
    user = users().get()
    assert user.email_confirmed_at is not None
    assert "Welcome, newbie" in client.get("/").content.decode()
    assert logged_in_user(client) == user
    assert OutboundEmail.objects.count() == sent_before  # no confirmation link


def test_signup_with_a_wrong_code_is_a_field_error_and_creates_nothing(client, outbox):
    from accounts.flows.code_verification import code_send

    code_send(email="new@example.com", purpose="signup", ip="127.0.0.1")
    code = re.search(r"^\s*(\d{6})\s*$", outbox.last_to("new@example.com").body, re.M).group(1)
    wrong = "000000" if code != "000000" else "111111"
    response = client.post("/accounts/signup/", {**SIGNUP, "code": wrong})
    assert response.status_code == 200
    assert "code" in response.context["form"].errors
    assert 'value="new@example.com"' in response.content.decode()
    assert not users().exists()


def test_signup_with_a_taken_address_answers_as_for_a_new_one(user_factory, client, outbox):
    owner = user_factory(email="new@example.com", username="owner")
    fresh = Client()

    taken = client.post("/accounts/signup/", {**SIGNUP, "email": "NEW@example.com"})
    new = fresh.post("/accounts/signup/", {**SIGNUP, "email": "other@example.com", "username": "other"})
    assert (taken.status_code, taken["Location"]) == (new.status_code, new["Location"])
    assert same_page(client.get(taken["Location"]), email="new@example.com") == same_page(
        fresh.get(new["Location"]), email="other@example.com"
    )

    assert list(users().order_by("pk").values_list("username", flat=True)) == ["owner", "other"]
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD) and owner.username == "owner"
    notice = outbox.last_to("new@example.com")
    assert notice.subject == "You already have a mailsite account"
    assert "/accounts/confirm/" not in notice.body  # confirmed already: no link to confirm
    assert "/accounts/password/reset/" in notice.body


def test_signup_with_an_unconfirmed_taken_address_mails_a_working_link(user_factory, client, outbox):
    owner = user_factory(email="new@example.com", username="owner", confirmed=False)
    client.post("/accounts/signup/", SIGNUP)
    path = link_path(outbox.last_to("new@example.com"), "/accounts/confirm/")
    assert OutboundEmail.objects.get().sensitive
    # The password was chosen elsewhere (maybe by a squatter): confirming sets a new one.
    assert client.post(path).status_code == 200
    assert client.post(path, NEW_PASSWORDS).status_code == 302
    owner.refresh_from_db()
    assert owner.email_confirmed_at is not None
    assert owner.check_password(NEW_PASSWORDS["new_password1"]) and not owner.check_password(PASSWORD)


def test_resend_answers_the_same_for_every_address(user_factory, client, outbox):
    user_factory(email="waiting@example.com", username="waiting", confirmed=False)
    user_factory(email="done@example.com", username="done")
    answers = {}
    for email in ("waiting@example.com", "done@example.com", "nobody@example.com"):
        browser = Client()
        response = browser.post("/accounts/confirm/resend/", {"email": email})
        answers[email] = (
            response.status_code,
            response["Location"],
            response.content,
            same_page(browser.get(response["Location"]), email=email),
        )
    assert len(set(answers.values())) == 1, answers
    delivered = outbox.deliver()
    assert [m.to for m in delivered] == [["waiting@example.com"]]
    assert link_path(delivered[0], "/accounts/confirm/")


def test_resend_button_on_the_login_page_sends_a_link(user_factory, client, outbox):
    user_factory(confirmed=False)
    body = client.post("/accounts/login/", {"username": "ada", "password": PASSWORD}).content.decode()
    assert 'name="email" value="ada@example.com"' in body
    response = client.post("/accounts/confirm/resend/", {"email": "ada@example.com"})
    assert response["Location"] == reverse("accounts:confirm-sent")
    path = link_path(outbox.last_to("ada@example.com"), "/accounts/confirm/")
    assert client.post(path, NEW_PASSWORDS).status_code == 302  # the account was not made in this browser


def test_confirmation_mail_is_in_the_users_language(user_factory, outbox, monkeypatch):
    from accounts.flows import email_verification, password_reset

    seen = []
    real = email_verification.email_send
    for flow in (email_verification, password_reset):
        monkeypatch.setattr(flow, "email_send", lambda **kw: seen.append(kw["language"]) or real(**kw))
    user = user_factory(confirmed=False, language="zh-hans")
    email_verification.confirmation_send(user=user)
    password_reset.password_changed_notify(user=user)
    assert seen == ["zh-hans", "zh-hans"]


# ------------------------------------------------------------------------------------------------
# Password reset
# ------------------------------------------------------------------------------------------------
def test_password_reset_end_to_end(user_factory, client, outbox):
    user = user_factory(confirmed=False)
    other_session = Client()
    other_session.force_login(user)
    assert logged_in_user(other_session) == user

    response = client.post("/accounts/password/reset/", {"email": "ADA@example.com"})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:password-reset-done")
    row = outbox.rows().get()
    assert (row.template, row.category, row.sensitive) == ("password_reset", "urgent", True)
    message = outbox.last_to("ada@example.com")
    path = link_path(message, "/accounts/password/reset/")
    assert re.fullmatch(r"/accounts/password/reset/[\w-]+/[\w-]+/", path)
    token = path.split("/")[-2]
    assert token in html_of(message)
    row.refresh_from_db()
    assert row.redacted and token not in str(row.payload)

    # The token moves into the session and the browser is redirected, as Django does.
    response = client.get(path)
    assert response.status_code == 302 and token not in response["Location"]
    form_path = response["Location"]
    response = client.get(form_path)
    assert response.status_code == 200 and 'name="new_password1"' in response.content.decode()
    response = client.post(form_path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:password-reset-complete")

    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert user.email_confirmed_at is not None  # the link reached the address
    assert not logged_in_user(other_session).is_authenticated  # other sessions are gone

    notice = outbox.last_to("ada@example.com")
    assert notice.subject == "Your mailsite password was changed"
    assert OutboundEmail.objects.filter(template="password_changed", sensitive=False).count() == 1

    # The link is dead once used.
    assert Client().get(path).status_code == 400
    response = client.post("/accounts/login/", {"username": "ada", "password": NEW_PASSWORD})
    assert response.status_code == 302


def test_password_reset_answers_the_same_for_unknown_addresses(user_factory, outbox):
    user_factory()
    known, unknown = Client(), Client()
    a = known.post("/accounts/password/reset/", {"email": "ada@example.com"})
    b = unknown.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert (a.status_code, a["Location"], a.content) == (b.status_code, b["Location"], b.content)
    assert same_page(known.get(a["Location"])) == same_page(unknown.get(b["Location"]))
    assert [m.to for m in outbox.deliver()] == [["ada@example.com"]]


def test_password_reset_link_expires(user_factory, client, outbox):
    user_factory()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.post("/accounts/password/reset/", {"email": "ada@example.com"})
    path = link_path(outbox.last_to("ada@example.com"), "/accounts/password/reset/")
    with time_machine.travel(start + timedelta(hours=1, minutes=1), tick=False):
        response = client.get(path)
        assert response.status_code == 400
        assert "This link does not work" in response.content.decode()
    assert users().get().check_password(PASSWORD)


def test_password_change_keeps_this_session_and_ends_the_others(user_factory, client, outbox):
    user = user_factory()
    client.force_login(user)
    other = Client()
    other.force_login(user)
    response = client.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert "Your password is changed." in client.get("/").content.decode()
    assert logged_in_user(client) == user
    assert not logged_in_user(other).is_authenticated
    assert outbox.last_to("ada@example.com").subject == "Your mailsite password was changed"


# ------------------------------------------------------------------------------------------------
# Email change
# ------------------------------------------------------------------------------------------------
def test_email_change_takes_effect_only_after_its_link(user_factory, client, outbox):
    user = user_factory()
    client.force_login(user)
    response = client.post("/accounts/email/change/", {"email": "Moved@Example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert "Check the inbox of moved@example.com" in client.get("/").content.decode()
    user.refresh_from_db()
    assert user.email == "ada@example.com"

    row = outbox.rows().get()
    assert (row.template, row.sensitive, row.recipients) == ("email_change_confirm", True, "moved@example.com")
    path = link_path(outbox.last_to("moved@example.com"), "/accounts/email/change/confirm/")
    assert client.get(path).status_code == 200
    user.refresh_from_db()
    assert user.email == "ada@example.com"

    response = client.post(path)
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "moved@example.com" and user.email_confirmed_at is not None
    notice = outbox.last_to("ada@example.com")
    assert notice.subject == "The email address of your mailsite account was changed"
    assert "moved@example.com" in notice.body
    assert client.post(path).status_code == 400  # single use

    client.post("/accounts/logout/")
    assert client.post("/accounts/login/", {"username": "moved@example.com", "password": PASSWORD}).status_code == 302


def test_email_change_link_refused_when_the_address_was_taken_meanwhile(user_factory, client, outbox):
    user = user_factory()
    client.force_login(user)
    client.post("/accounts/email/change/", {"email": "moved@example.com", "password": PASSWORD})
    path = link_path(outbox.last_to("moved@example.com"), "/accounts/email/change/confirm/")
    user_factory(email="moved@example.com", username="grace")
    response = client.post(path)
    assert response.status_code == 400
    assert "Another account uses this address" in response.content.decode()
    user.refresh_from_db()
    assert user.email == "ada@example.com"
