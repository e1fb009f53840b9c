"""The dev mailbox in a real browser: a link in an email opens our site in a new tab, the email's
script never runs, the frame fits the email, the raw view and .eml download, search, a new email
pushed by the server's event stream and appearing without a reload, attachments, the tablet width,
a readable Clear all, and no page wider than the window at 390 px and 1,280 px (with a
screenshot of each; UPDATE_DOCS_SCREENSHOTS=1 refreshes the README's)."""

import os

import pytest
from django.core import mail
from playwright.sync_api import expect

from notifications.models import OutboundEmail
from testing.fixtures import BASE_DIR

from .conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

WIDTHS = {"phone": 390, "desktop": 1280}
# The views docs/ shows (README and docs/dev-mailbox.md), refreshed with UPDATE_DOCS_SCREENSHOTS=1.
DOCS_SHOTS = ("list-desktop", "detail-phone", "compatibility-desktop", "spam-desktop")
ATTACK = "<script>parent.document.title='pwned'</script><img src=x onerror=\"parent.document.title='pwned'\">"


def send(subject, site, to="ada@example.com"):
    text = f"Hello Ada,\n\nYour code:\n\n  482913\n\nOr log in at {site}/accounts/login/ today.\n"
    html = (
        f"<html><head><title>{subject}</title></head><body><h1>{subject}</h1>"
        f'<p><a id="login" href="{site}/accounts/login/">Log in</a></p>'
        f"<p>A very long header-like line: {'x' * 300}</p>{ATTACK}" + "<p>Line</p>" * 40 + "</body></html>"
    )
    message = mail.EmailMultiAlternatives(subject, text, "mailsite <noreply@example.com>", [to])
    message.attach_alternative(html, "text/html")
    message.extra_headers["X-Very-Long-Header"] = "y" * 400
    message.send()
    return OutboundEmail.objects.latest("id")


def shots_dir():
    return BASE_DIR / "docs" if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1" else SCREENSHOTS


def new_page(browser, live_server, width, contexts):
    context = browser.new_context(base_url=live_server.url, locale="en-US", viewport={"width": width, "height": 800})
    context.set_default_timeout(30_000)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    contexts.append(context)
    return context.new_page()


def assert_fits(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"mailbox-{name}.png", full_page=True)
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{name}: the page is {widths[0]} px wide in a {widths[1]} px window"


@pytest.fixture
def contexts(settings, live_server):
    settings.DEBUG = True  # the dev mailbox exists only with DEBUG on
    settings.SITE_URL = live_server.url
    settings.NOTIFICATIONS_MAILBOX_STREAM_SECONDS = 3  # short streams: the browser reconnects often
    opened = []
    yield opened
    for context in opened:
        context.close()


def test_a_link_in_an_email_opens_the_site_in_a_new_tab_and_no_script_runs(browser, live_server, contexts):
    row = send("Welcome to mailsite", live_server.url)
    page = new_page(browser, live_server, 1280, contexts)

    page.goto("/dev/mailbox/")
    page.get_by_role("link", name="Welcome to mailsite").click()
    expect(page.get_by_role("heading", name="Welcome to mailsite")).to_be_visible()
    frame = page.frame_locator("iframe.mail")
    expect(frame.locator("#login")).to_be_visible()

    with page.expect_popup() as popup_info:
        frame.locator("#login").click()
    popup = popup_info.value
    popup.wait_for_load_state()
    assert popup.url == f"{live_server.url}/accounts/login/"
    expect(popup.get_by_role("heading").first).to_be_visible()  # our page, not a refused frame
    popup.close()

    # The text part's link opens a new tab too.
    text_link = page.locator(f'pre.mail a[href="{live_server.url}/accounts/login/"]')
    expect(text_link).to_have_attribute("target", "_blank")

    # The email's script and event handler never ran, in the frame or against the page.
    assert "pwned" not in page.title()
    assert page.evaluate("document.querySelector('iframe.mail').contentDocument.title") == "Welcome to mailsite"

    # The frame fits the email's height; the mobile toggle narrows it.
    fits = "(f => f.getBoundingClientRect().height >= f.contentDocument.documentElement.scrollHeight)"
    page.wait_for_function(f"{fits}(document.querySelector('iframe.mail'))")
    page.get_by_role("button", name="Mobile width").click()
    assert page.evaluate("document.querySelector('iframe.mail').getBoundingClientRect().width") == 375
    page.wait_for_function(f"{fits}(document.querySelector('iframe.mail'))")

    # The code's copy button.
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == "482913"

    # The raw source, and the .eml download.
    page.get_by_role("link", name="Raw source").click()
    expect(page.locator("pre.mail.raw")).to_contain_text("Subject: Welcome to mailsite")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download .eml").click()
    download = download_info.value
    assert download.suggested_filename == f"mailbox-{row.pk}.eml"
    assert b"Subject: Welcome to mailsite" in open(download.path(), "rb").read()

    # The link check: our login page answers 200.
    page.goto(f"/dev/mailbox/{row.pk}/links/")
    expect(page.locator("tr", has_text=f"{live_server.url}/accounts/login/").locator(".status")).to_have_text("200")


def test_search_and_new_mail_without_a_reload(browser, live_server, contexts):
    send("For Ada", live_server.url, to="ada@example.com")
    send("For Bob", live_server.url, to="bob@example.com")
    page = new_page(browser, live_server, 1280, contexts)

    page.goto("/dev/mailbox/")
    page.get_by_role("searchbox").fill("bob@")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="For Bob")).to_be_visible()
    expect(page.get_by_role("link", name="For Ada")).to_have_count(0)
    page.get_by_role("searchbox").fill("to:ada@ is:unread subject:ada")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="For Ada")).to_be_visible()
    expect(page.get_by_role("link", name="For Bob")).to_have_count(0)

    # New mail is pushed by the server (Server-Sent Events); the list asks for its rows only then.
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    with page.expect_response(lambda response: "/dev/mailbox/events/" in response.url) as stream:
        page.goto("/dev/mailbox/")
    assert stream.value.headers["content-type"] == "text/event-stream"
    page.evaluate("window.notReloaded = true")
    page.wait_for_timeout(2500)  # longer than the old poll's period: nothing is fetched meanwhile
    assert not [url for url in requests if "/dev/mailbox/rows/" in url]
    send("Arrived just now", live_server.url)
    expect(page.get_by_role("link", name="Arrived just now")).to_be_visible()
    assert page.evaluate("window.notReloaded === true")
    assert len([url for url in requests if "/dev/mailbox/rows/" in url]) == 1
    # After the server ends a stream, the browser opens the next one by itself.
    streams = "performance.getEntriesByType('resource').filter(e => e.name.includes('/events/')).length"
    page.wait_for_function(f"{streams} >= 2")
    send("After a reconnect", live_server.url)
    expect(page.get_by_role("link", name="After a reconnect")).to_be_visible()


@pytest.mark.parametrize("size", WIDTHS)
def test_no_mailbox_page_is_wider_than_the_window(browser, live_server, contexts, size):
    row = send("A subject long enough to wrap on a phone, with more words " * 2, live_server.url)
    page = new_page(browser, live_server, WIDTHS[size], contexts)

    for name, path in [
        ("list", "/dev/mailbox/"),
        ("detail", f"/dev/mailbox/{row.pk}/"),
        ("raw", f"/dev/mailbox/{row.pk}/raw/"),
        ("links", f"/dev/mailbox/{row.pk}/links/"),
        ("compatibility", f"/dev/mailbox/{row.pk}/compatibility/"),
        ("spam", f"/dev/mailbox/{row.pk}/spam/"),
        ("release", f"/dev/mailbox/{row.pk}/release/"),
    ]:
        page.goto(path)
        if name == "detail":
            page.wait_for_function("document.querySelector('iframe.mail').getBoundingClientRect().height > 200")
        assert_fits(page, f"{name}-{size}")
        if f"{name}-{size}" in DOCS_SHOTS and os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1":
            page.screenshot(path=shots_dir() / f"mailbox-{name}-{size}.png")  # the docs


def contrast(page, selector):
    """The WCAG contrast ratio of an element's text colour against its background colour."""
    return page.evaluate(
        """(selector) => {
          const style = getComputedStyle(document.querySelector(selector));
          const rgb = (value) => value.match(/[\\d.]+/g).slice(0, 3).map(Number);
          const linear = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
          const lum = ([r, g, b]) => [r, g, b].map(linear)
            .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
          const [a, b] = [lum(rgb(style.color)), lum(rgb(style.backgroundColor))].sort((x, y) => y - x);
          return (a + 0.05) / (b + 0.05);
        }""",
        selector,
    )


def test_clear_all_is_readable(browser, live_server, contexts):
    send("Something to clear", live_server.url)
    page = new_page(browser, live_server, 1280, contexts)
    page.goto("/dev/mailbox/")
    expect(page.get_by_role("button", name="Clear all")).to_be_visible()
    assert contrast(page, "button.danger") >= 4.5  # WCAG AA for text


def test_attachments_tablet_width_and_the_html_source(browser, live_server, contexts):
    from notifications.tests.test_mailbox_message import send_with_attachments

    row = send_with_attachments()
    page = new_page(browser, live_server, 1280, contexts)
    page.goto(f"/dev/mailbox/{row.pk}/")

    # The PNG's thumbnail is a decoded image, and the PDF downloads as itself.
    thumbnail = page.locator("img.thumbnail")
    expect(thumbnail).to_have_count(1)
    page.wait_for_function("document.querySelector('img.thumbnail').naturalWidth === 4")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="invoice.pdf").click()
    assert download_info.value.suggested_filename == "invoice.pdf"
    assert open(download_info.value.path(), "rb").read() == b"%PDF-1.4 not really"

    # Full, tablet and mobile widths, one pressed at a time.
    width = "document.querySelector('iframe.mail').getBoundingClientRect().width"
    page.get_by_role("button", name="Tablet width").click()
    assert page.evaluate(width) == 768
    expect(page.get_by_role("button", name="Tablet width")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Mobile width").click()
    assert page.evaluate(width) == 375
    expect(page.get_by_role("button", name="Tablet width")).to_have_attribute("aria-pressed", "false")
    page.get_by_role("button", name="Full width").click()
    assert page.evaluate(width) > 768

    # The HTML source, highlighted, opens on a click; every header is listed.
    page.get_by_text("HTML source").click()
    expect(page.locator("pre.html-source .hl-tag").first).to_be_visible()
    expect(page.locator("table.mail-headers")).to_contain_text("MIME-Version")
    assert_fits(page, "attachments-desktop")
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1":
        page.screenshot(path=shots_dir() / "mailbox-attachments-desktop.png", full_page=True)
