"""The account pages in headless Chromium: the "Log out?" page, the account menu, the settings page
with its sessions and "log out other sessions", and deleting an account by an emailed code."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from .conftest import PASSWORD

pytestmark = pytest.mark.browser

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


def log_in(page, login="ada", password=PASSWORD):
    page.goto("/accounts/login/")
    page.get_by_label("Email or username").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.locator(".messages")).to_contain_text(f"You are logged in as {login}.")


def header(page):
    return page.locator("header.site")


def test_the_logout_page_asks_first(page, user_factory, live_server):
    user_factory("ada")
    log_in(page)
    page.goto("/accounts/logout/")
    expect(page.get_by_text("Are you sure you want to log out?")).to_be_visible()
    expect(header(page)).to_contain_text("ada")  # looking at the page logs nobody out
    page.locator("main").get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator(".messages")).to_contain_text("You are logged out.")
    expect(header(page).get_by_role("link", name="Log in")).to_be_visible()


def test_the_account_menu_leads_to_profile_and_settings(page, user_factory, live_server):
    user_factory("ada")
    log_in(page)
    menu = header(page).locator("details.account-menu")
    expect(menu.get_by_role("link", name="Account settings")).to_be_hidden()
    menu.locator("summary").click()
    for name in ("Your profile", "Account settings", "Email address", "Password", "Notifications"):
        expect(menu.get_by_role("link", name=name)).to_be_visible()
    expect(menu.get_by_role("button", name="Log out")).to_be_visible()

    menu.get_by_role("link", name="Your profile").click()
    expect(page).to_have_url(f"{live_server.url}/u/ada/")
    menu.locator("summary").click()
    menu.get_by_role("link", name="Notifications").click()
    expect(page.get_by_role("heading", name="Notification settings")).to_be_visible()
    menu.locator("summary").click()
    menu.get_by_role("link", name="Account settings").click()
    expect(page.get_by_role("heading", name="Account settings")).to_be_visible()
    expect(page.locator("table.settings")).to_contain_text("ada@example.com")
    page.locator("table.settings").get_by_role("link", name="Change").first.click()
    expect(page).to_have_url(f"{live_server.url}/accounts/email/change/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_log_out_other_sessions(open_page, user_factory, browser, live_server):
    user_factory("ada")
    laptop = open_page()
    log_in(laptop)
    phone_context = browser.new_context(base_url=live_server.url, locale="en-US", user_agent=FIREFOX)
    phone = phone_context.new_page()
    try:
        log_in(phone)
        laptop.goto("/accounts/settings/")
        rows = laptop.locator("table.sessions tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.filter(has_text="this browser")).to_have_count(1)
        expect(rows.filter(has_text="Firefox 128 · Windows")).to_have_count(1)

        laptop.get_by_role("button", name="Log out other sessions").click()
        expect(laptop.locator(".messages")).to_contain_text("1 other session was logged out.")
        expect(rows).to_have_count(1)
        expect(laptop.get_by_role("button", name="Log out other sessions")).to_be_disabled()

        phone.reload()
        expect(header(phone).get_by_role("link", name="Log in")).to_be_visible()
        laptop.reload()
        expect(header(laptop)).to_contain_text("ada")
    finally:
        phone_context.close()


def test_delete_the_account_with_an_emailed_code(page, inbox, user_factory, live_server):
    user_factory("ada")
    log_in(page)
    page.goto("/accounts/settings/")
    page.get_by_role("link", name="Delete my account").click()
    expect(page.get_by_role("heading", name="Delete your account")).to_be_visible()

    page.get_by_label("Current password").fill("not my password")
    page.get_by_role("button", name="Delete my account").click()
    expect(page.locator(".errorlist")).to_contain_text("Your password was entered incorrectly.")

    page.get_by_role("button", name="Email me a code").click()
    expect(page.locator(".messages")).to_contain_text("We emailed a code to ada@example.com.")
    mail = inbox.next_to("ada@example.com")
    assert mail.subject == "Your code to delete your mailsite account"
    page.get_by_label("Or the code we emailed you").fill(mail.code())
    page.get_by_role("button", name="Delete my account").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator(".messages")).to_contain_text("Your account was deleted.")
    expect(header(page).get_by_role("link", name="Log in")).to_be_visible()
    assert not get_user_model().objects.filter(username="ada").exists()
    assert inbox.next_to("ada@example.com").subject == "Your mailsite account was deleted"


def test_send_a_new_code_waits_after_a_code_was_sent(page, inbox, user_factory):
    user_factory("ada")
    page.goto("/accounts/login/code/")
    page.get_by_label("Email address").fill("ada@example.com")
    page.get_by_role("button", name="Email me a code").click()
    send = page.locator("button[data-send-code]")
    expect(send).to_be_disabled()
    expect(send).to_have_text(re.compile(r"^Send again in \d+ s$"))
    expect(page.locator("main")).to_contain_text("It works once, for 10 minutes.")
    inbox.next_to("ada@example.com")
