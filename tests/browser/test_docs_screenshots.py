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
