"""Browser end-to-end fixtures: headless Chromium through Playwright, against the live server, with a
real Celery worker delivering to the aiosmtpd server, whose mail the tests read as a person would.

Chromium is Debian's (CHROMIUM_PATH, else `chromium` on PATH); Playwright's own browser download is
not used. Without Chromium the tests skip, or fail under REQUIRE_SERVICES=1.
"""

import os
import re
import shutil
import time
from urllib.parse import urlsplit

import pytest

from testing.fixtures import BASE_DIR, service_missing

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = BASE_DIR / "test-results" / "screenshots"
MAIL_TIMEOUT = 60.0  # seconds to wait for an email before the test fails (a bound, not a measure)


def chromium_executable():
    """Debian's Chromium: CHROMIUM_PATH, else `chromium` on PATH."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not path or not os.access(path, os.X_OK):
        service_missing(f"no Chromium to run browser tests (CHROMIUM_PATH={os.environ.get('CHROMIUM_PATH', '')!r})")
    return path


def chromium_launch(playwright):
    """Headless Chromium with the flags a container needs (no sandbox, no GPU, no background traffic)."""
    return playwright.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS, headless=True)


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module. Playwright's sync API keeps an event loop running in this
    thread while it is open, so Django's guard against ORM calls from async code is lifted here:
    the tests' own ORM calls are plain synchronous code."""
    executable = chromium_executable()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_missing("Playwright is not installed (pip install -r requirements-dev.txt)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        patch.setenv("CHROMIUM_PATH", executable)
        with sync_playwright() as playwright:
            chromium = chromium_launch(playwright)
            yield chromium
            chromium.close()


@pytest.fixture
def open_page(browser, live_server, request):
    """open_page() -> a page in a fresh browser (its own cookies), with relative URLs on the live
    server. Each page's last state is saved as test-results/screenshots/<test>[-n].png."""
    contexts = []

    def open_():
        context = browser.new_context(base_url=live_server.url, locale="en-US", viewport={"width": 1000, "height": 760})
        context.set_default_timeout(30_000)
        contexts.append(context)
        return context.new_page()

    yield open_
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    for number, context in enumerate(contexts, start=1):
        for page in context.pages:
            path = SCREENSHOTS / (f"{name}.png" if number == 1 else f"{name}-{number}.png")
            try:
                page.screenshot(path=path, full_page=True)
            except Exception as error:  # a crashed page must not hide the test's own failure
                print(f"no screenshot of {page.url}: {error}")
        context.close()


@pytest.fixture
def page(open_page):
    return open_page()


# ------------------------------------------------------------------------------------------------
# The inbox: a real worker delivers to the aiosmtpd server; tests read what arrived
# ------------------------------------------------------------------------------------------------
class Mail:
    """One received email, as its recipient reads it: subject, the text part, a link, a code."""

    def __init__(self, record, site_url):
        self.message = record["message"]
        self.to = record["rcpt_tos"]
        self.site_url = site_url

    @property
    def subject(self):
        return str(self.message["Subject"])

    @property
    def text(self):
        return self.message.get_body(("plain",)).get_content()

    def link(self, path_prefix):
        """The one link in the text part that points at `path_prefix` on this site."""
        found = {
            url
            for url in re.findall(r"https?://[^\s<>\"']+", self.text)
            if url.startswith(self.site_url) and urlsplit(url).path.startswith(path_prefix)
        }
        assert len(found) == 1, f"expected one {path_prefix} link in:\n{self.text}"
        return found.pop()

    def code(self):
        """The line that is nothing but digits."""
        found = [line.strip() for line in self.text.splitlines() if re.fullmatch(r"\s*\d{4,12}\s*", line)]
        assert len(found) == 1, f"expected one code in:\n{self.text}"
        return found[0]


class Inbox:
    def __init__(self, server, worker, site_url):
        self.server = server
        self.worker = worker
        self.site_url = site_url
        self._read = set()

    def _unread_to(self, address):
        return [
            (index, record)
            for index, record in enumerate(list(self.server.messages))
            if index not in self._read and address in record["rcpt_tos"]
        ]

    def next_to(self, address, timeout=MAIL_TIMEOUT):
        """Wait for the next unread email to `address`, and read it."""
        deadline = time.monotonic() + timeout
        while not (unread := self._unread_to(address)):
            if time.monotonic() > deadline:
                raise AssertionError(f"no email to {address} within {timeout:.0f} s\n{self.worker.log()}")
            time.sleep(0.1)
        index, record = unread[0]
        self._read.add(index)
        return Mail(record, self.site_url)

    def unread_to(self, address):
        return [Mail(record, self.site_url) for _index, record in self._unread_to(address)]


@pytest.fixture
def inbox_factory(smtp_server, worker_factory, live_server, settings):
    """inbox_factory(**worker_env) -> Inbox: starts a worker that delivers to the aiosmtpd server,
    with links pointing at the live server (in mails rendered by the worker and by the web side)."""
    settings.SITE_URL = live_server.url

    def start(**extra_env):
        worker = worker_factory(smtp_url=smtp_server.url, SITE_URL=live_server.url, **extra_env)
        return Inbox(smtp_server, worker, live_server.url)

    return start


@pytest.fixture
def inbox(inbox_factory, redis_cache):
    return inbox_factory()


from testing.users import PASSWORD  # noqa: E402, F401  (the browser tests log in with it)
