"""Account flows in headless Chromium, end to end: the live server writes each email to the outbox, a
real Celery worker delivers it to the aiosmtpd server, and the test reads it there as the person
would, then clicks on through the site."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from .conftest import PASSWORD

pytestmark = pytest.mark.browser


def log_in(page, login, password):
    page.goto("/accounts/login/")
    page.get_by_label("Email or username").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()


def expect_home_logged_in(page, live_server, username):
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name=f"Hello, {username}")).to_be_visible()
    expect(page.locator("header.site")).to_contain_text(username)


def test_sign_up_with_a_code(page, inbox, live_server):
    page.goto("/accounts/signup/")
    page.get_by_label("Email address").fill("ada@example.com")
    page.get_by_role("button", name="Send code").click()
    send = page.locator("button[data-send-code]")  # its name changes as it counts down

    expect(page.locator("[data-send-code-status]")).to_have_text("Code sent. Check your inbox.")
    expect(send).to_be_disabled()
    expect(send).to_have_text(re.compile(r"^Send again in \d+ s$"))
    first = int(re.search(r"\d+", send.inner_text()).group())
    expect(send).not_to_have_text(f"Send again in {first} s")  # it counts down
    assert int(re.search(r"\d+", send.inner_text()).group()) < first

    mail = inbox.next_to("ada@example.com")
    assert "code" in mail.subject.lower()
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_label("Verification code").fill(mail.code())
    page.get_by_role("button", name="Sign up").click()

    expect_home_logged_in(page, live_server, "ada")
    expect(page.locator(".messages")).to_contain_text("Welcome, ada! Your account is ready.")
    expect(page.locator(".status")).to_have_text("confirmed")
    assert get_user_model().objects.get(username="ada").email_confirmed_at is not None
    assert inbox.unread_to("ada@example.com") == []  # no confirmation link: the code confirmed it


def test_sign_up_then_confirm_by_link(page, inbox, live_server):
    page.goto("/accounts/signup/")
    page.get_by_label("Email address").fill("grace@example.com")
    page.get_by_label("Username").fill("grace")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

    mail = inbox.next_to("grace@example.com")
    assert mail.subject == "Confirm your email address for mailsite"
    page.goto(mail.link("/accounts/confirm/"))
    expect(page.get_by_text("Confirm that grace@example.com is your email address.")).to_be_visible()
    page.get_by_role("button", name="Confirm").click()

    # The browser that signed up is logged in by its confirmation (ACCOUNTS_LOGIN_ON_EMAIL_CONFIRMATION).
    expect_home_logged_in(page, live_server, "grace")
    expect(page.locator(".messages")).to_contain_text("Thank you: grace@example.com is confirmed.")
    expect(page.locator(".messages")).to_contain_text("You are logged in as grace.")
    expect(page.locator(".status")).to_have_text("confirmed")


def test_forgot_password(page, inbox, live_server, user_factory):
    user_factory("alan")
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email address").fill("alan@example.com")
    page.get_by_role("button", name="Send the link").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/password/reset/done/")

    mail = inbox.next_to("alan@example.com")
    page.goto(mail.link("/accounts/password/reset/"))
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    new_password = "another fine passphrase 8"
    page.get_by_label("New password", exact=True).fill(new_password)
    page.get_by_label("New password confirmation").fill(new_password)
    page.get_by_role("button", name="Set my password").click()
    expect(page.get_by_role("heading", name="Your new password is set")).to_be_visible()
    assert "password" in inbox.next_to("alan@example.com").subject.lower()  # the "password changed" notice

    page.locator(".card").get_by_role("link", name="Log in").click()
    page.get_by_label("Email or username").fill("alan")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.locator(".errorlist")).to_contain_text("do not match an account")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")

    log_in(page, "alan@example.com", new_password)
    expect_home_logged_in(page, live_server, "alan")


def test_log_in_by_code(page, inbox, live_server, user_factory):
    user_factory("barbara")
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Log in with a code by email").click()
    page.get_by_label("Email address").fill("barbara@example.com")
    page.get_by_role("button", name="Email me a code").click()

    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    expect(page.get_by_label("Email address")).to_have_value("barbara@example.com")
    mail = inbox.next_to("barbara@example.com")
    assert "log in" in mail.text
    page.get_by_label("Code from the email").fill(mail.code())
    page.get_by_role("button", name="Log in", exact=True).click()

    expect_home_logged_in(page, live_server, "barbara")
    expect(page.locator(".messages")).to_contain_text("You are logged in as barbara.")
