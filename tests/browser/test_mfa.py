"""The second factor in Chromium, at a phone's and a desktop's width: set up an authenticator app
from the page (the code computed with pyotp from the key the page shows), see the security page,
then log in again through the second-factor step. Screenshots for docs/second-factor.md; with
UPDATE_DOCS_SCREENSHOTS=1 they replace the ones under docs/, otherwise they go under test-results/."""

import os
import time

import pyotp
import pytest
from playwright.sync_api import expect

from testing.fixtures import BASE_DIR

from .conftest import PASSWORD, SCREENSHOTS

pytestmark = pytest.mark.browser


def _target():
    target = BASE_DIR / "docs" if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1" else SCREENSHOTS
    target.mkdir(parents=True, exist_ok=True)
    return target


def _log_in(page, username):
    page.goto("/accounts/login/")
    page.get_by_label("Email or username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()


@pytest.mark.parametrize("width", [390, 1280])
def test_set_up_an_authenticator_app_and_log_in_with_it(browser, live_server, user_factory, width, settings):
    settings.ACCOUNTS_RATE_LIMITS_ENABLED = False
    target = _target()
    username = f"ada{width}"
    user_factory(username)
    context = browser.new_context(base_url=live_server.url, locale="en-US", viewport={"width": width, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        _log_in(page, username)
        expect(page.locator(".messages")).to_contain_text(f"You are logged in as {username}.")
        page.goto("/accounts/security/")
        page.get_by_role("link", name="Set up").click()
        expect(page.get_by_role("heading", name="Set up an authenticator app")).to_be_visible()
        expect(page.locator(".qr svg")).to_be_visible()
        secret = page.locator("#totp-secret").inner_text().strip()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page overflows"
        page.screenshot(path=target / f"mfa-setup-{width}.png", full_page=True)

        totp = pyotp.TOTP(secret)
        page.get_by_label("Code from your authenticator app").fill(totp.now())
        page.get_by_role("button", name="Turn on").click()
        expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
        expect(page.locator("#recovery-codes li")).to_have_count(10)
        page.get_by_role("link", name="I have saved them").click()
        expect(page.locator("#second-factor")).to_contain_text("on")
        page.screenshot(path=target / f"mfa-security-{width}.png", full_page=True)

        page.locator("details.account-menu summary").click()
        page.get_by_role("button", name="Log out").click()
        _log_in(page, username)
        expect(page.get_by_role("heading", name="Second factor")).to_be_visible()
        page.screenshot(path=target / f"mfa-login-step-{width}.png", full_page=True)
        page.get_by_label("Code from your authenticator app, or a recovery code").fill(totp.at(time.time() + 30))
        page.get_by_role("button", name="Log in", exact=True).click()
        expect(page.locator(".messages")).to_contain_text(f"You are logged in as {username}.")
    finally:
        context.close()
