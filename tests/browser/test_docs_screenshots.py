"""The README's screenshots, taken from the running site: the sign-up page, and a confirmation email
opened in the dev mailbox. With UPDATE_DOCS_SCREENSHOTS=1 they replace docs/signup.png and
docs/mailbox-confirmation.png; otherwise they go under test-results/, so a test run never changes
tracked files."""

import os

import pytest
from playwright.sync_api import expect

from testing.fixtures import BASE_DIR

from .conftest import PASSWORD, SCREENSHOTS

pytestmark = pytest.mark.browser


def screenshots_dir():
    return BASE_DIR / "docs" if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1" else SCREENSHOTS


def test_readme_screenshots(page, inbox_factory, settings, redis_cache, live_server):
    # As under `make run`: with DEBUG on, the worker keeps codes and links readable in the dev mailbox.
    inbox = inbox_factory(DEBUG="1")
    target = screenshots_dir()
    target.mkdir(parents=True, exist_ok=True)

    page.goto("/accounts/signup/")
    page.get_by_label("Email address").fill("ada@example.com")
    page.get_by_label("Username").fill("ada")
    page.locator(":focus").blur()
    page.screenshot(path=target / "signup.png", full_page=True)

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    mail = inbox.next_to("ada@example.com")
    link = mail.link("/accounts/confirm/")

    settings.DEBUG = True  # the dev mailbox exists only with DEBUG on
    page.goto("/dev/mailbox/")
    page.get_by_role("link", name=mail.subject).click()
    expect(page.get_by_role("heading", name=mail.subject)).to_be_visible()
    expect(page.locator("pre.mail")).to_contain_text(link)  # the text part, link intact
    expect(page.frame_locator("iframe.mail").locator(f'a[href="{link}"]').first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "a long link overflows"
    page.screenshot(path=target / "mailbox-confirmation.png", full_page=True)


def test_readme_account_settings_screenshot(open_page, browser, user_factory, live_server):
    """The account settings page, with the account menu open and two sessions listed."""
    target = screenshots_dir()
    target.mkdir(parents=True, exist_ok=True)
    user_factory("ada")
    other = browser.new_context(
        base_url=live_server.url,
        locale="en-US",
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    )
    page = open_page()
    try:
        for browser_page in (other.new_page(), page):
            browser_page.goto("/accounts/login/")
            browser_page.get_by_label("Email or username").fill("ada")
            browser_page.get_by_label("Password").fill(PASSWORD)
            browser_page.get_by_role("button", name="Log in", exact=True).click()
            expect(browser_page.locator(".messages")).to_contain_text("You are logged in as ada.")
    finally:
        other.close()
    page.goto("/accounts/settings/")
    expect(page.locator("table.sessions tbody tr")).to_have_count(2)
    page.locator("details.account-menu summary").click()
    page.screenshot(path=target / "account-settings.png", full_page=True)
