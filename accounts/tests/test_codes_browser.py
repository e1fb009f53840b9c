"""The sign-up page's Send code button in a real browser (headless Chromium through Playwright),
against a live server on real PostgreSQL and Redis: with JavaScript it asks the JSON endpoint,
says "sent" and counts down; a bad address gets its error next to the field."""

import os
import re
import shutil

import pytest
from django.db import connections

from accounts.models import EmailCaptcha

from .code_helpers import code_from

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("redis_cache")]


@pytest.fixture
def page(live_server, monkeypatch):
    from testing.fixtures import service_missing

    # Playwright's sync API keeps an event loop running in this thread; the test's own ORM calls
    # are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    executable = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not executable:
        service_missing("no Chromium (set CHROMIUM_PATH)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_page()
        page.set_default_timeout(15_000)
        yield page
        browser.close()
        # While Playwright's loop runs, the ORM calls of the test get connections of their own
        # (Django's connections are context-local); close them, or the test database stays busy.
        connections.close_all()


def test_send_code_button_sends_then_counts_down(page, live_server, outbox):
    page.goto(f"{live_server.url}/accounts/signup/")
    page.fill("#id_email", "browser@example.com")
    button = page.locator("[data-send-code]")
    button.click()
    status = page.locator("[data-send-code-status]")
    status.wait_for()
    assert "Code sent" in status.inner_text()
    assert page.url == f"{live_server.url}/accounts/signup/"  # no page load: the JSON endpoint answered
    assert button.is_disabled()
    assert "Send again in" in button.inner_text()
    seconds = int(re.search(r"\d+", button.inner_text()).group(0))
    assert 1 <= seconds <= 61
    assert EmailCaptcha.objects.get().email == "browser@example.com"
    code = code_from(outbox, "browser@example.com")

    page.fill("#id_username", "browser")
    page.fill("#id_password1", "a fine long passphrase 7")
    page.fill("#id_password2", "a fine long passphrase 7")
    page.fill("#id_code", code)
    page.locator("#id_code").press("Enter")  # Enter signs up; it does not press Send code
    page.wait_for_url(f"{live_server.url}/")
    assert EmailCaptcha.objects.get().outcome == "used"


def test_send_code_button_shows_a_bad_address_next_to_the_field(page, live_server):
    page.goto(f"{live_server.url}/accounts/signup/")
    page.fill("#id_email", "not an address")
    page.locator("[data-send-code]").click()
    status = page.locator("[data-send-code-status].errorlist")
    status.wait_for()
    assert "valid email" in status.inner_text()
    assert page.locator("[data-send-code]").is_enabled()
    assert not EmailCaptcha.objects.exists()


def test_send_code_button_counts_down_the_limit(page, live_server, outbox):
    page.goto(f"{live_server.url}/accounts/signup/")
    page.fill("#id_email", "twice@example.com")
    button = page.locator("[data-send-code]")
    button.click()
    page.locator("[data-send-code-status]").wait_for()
    page.evaluate("document.querySelector('[data-send-code]').disabled = false")  # as if the wait were over
    button.click()
    page.wait_for_function("document.querySelector('[data-send-code-status]').className === 'errorlist'")
    assert "Too many requests" in page.locator("[data-send-code-status]").inner_text()
    assert button.is_disabled() and "Send again in" in button.inner_text()
