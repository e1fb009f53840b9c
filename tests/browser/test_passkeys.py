"""Passkeys in headless Chromium with a virtual authenticator (the DevTools protocol's WebAuthn
domain: a CTAP2 platform authenticator that keeps discoverable credentials and verifies the
user), against the live server on real PostgreSQL and Redis.

The browser makes and signs with real keys; the server checks them with py_webauthn. Nothing on
the server side is mocked."""


import pytest
from playwright.sync_api import expect

from accounts.models import Passkey

from .conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("redis_cache")]


@pytest.fixture
def site(settings, live_server):
    """The live server is the site: SITE_URL (and so the RP ID and origin) is its URL."""
    settings.SITE_URL = live_server.url
    settings.ACCOUNTS_RATE_LIMITS_ENABLED = False
    return live_server


def authenticator(page):
    """A virtual passkey authenticator for `page`: what a phone's or laptop's built-in one is."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


# Records how the page asked for a passkey, and can play a browser without autofill for passkeys.
WATCH_GET = """
const get = navigator.credentials.get.bind(navigator.credentials);
navigator.credentials.get = (options) => {
  console.log("passkey request: " + (options.mediation || "modal"));
  return get(options);
};
if (%s) { PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false); }
"""


def watch_passkey_requests(page, *, autofill=True):
    """The list of the page's passkey requests ("modal", "conditional"), as they are made."""
    requests = []
    page.on(
        "console",
        lambda message: (
            requests.append(message.text.removeprefix("passkey request: "))
            if message.text.startswith("passkey request: ")
            else None
        ),
    )
    page.add_init_script(WATCH_GET % ("false" if autofill else "true"))
    return requests


def credentials_of(cdp, authenticator_id):
    return cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]


def log_in_with_password(page, login):
    page.goto("/accounts/login/")
    page.get_by_label("Email or username").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.locator(".messages")).to_contain_text(f"You are logged in as {login}.")


def add_passkey(page, name):
    page.goto("/accounts/passkeys/")
    page.get_by_label("Name (optional)").fill(name)
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator(".messages")).to_contain_text(f"Passkey “{name}” added.")


def log_out(page):
    page.context.clear_cookies()  # the authenticator keeps its passkeys


def expect_logged_in_home(page, site, username):
    expect(page).to_have_url(f"{site.url}/")
    expect(page.locator("header.site")).to_contain_text(username)


def test_register_then_log_in_with_the_button(page, site, user_factory):
    user = user_factory("ada")
    requests = watch_passkey_requests(page, autofill=False)  # only the button can log in here
    cdp, auth_id = authenticator(page)
    log_in_with_password(page, "ada")
    add_passkey(page, "Laptop")

    row = page.locator("tr[data-passkey]")
    expect(row).to_have_count(1)
    expect(row.locator("input[name=name]")).to_have_value("Laptop")
    passkey = Passkey.objects.get(user=user)
    stored = credentials_of(cdp, auth_id)
    assert len(stored) == 1 and stored[0]["isResidentCredential"]
    assert bytes(passkey.user_handle) and passkey.transports == ["internal"]

    log_out(page)
    page.goto("/accounts/login/")
    expect(page.get_by_label("Email or username")).to_have_attribute("autocomplete", "username webauthn")
    page.get_by_role("button", name="Log in with a passkey").click()
    expect_logged_in_home(page, site, "ada")
    assert requests == ["modal"]
    passkey.refresh_from_db()
    assert passkey.last_used_at is not None
    assert passkey.sign_count == credentials_of(cdp, auth_id)[0]["signCount"] > 0


def test_log_in_through_autofill(page, site, user_factory):
    user_factory("grace")
    requests = watch_passkey_requests(page)
    authenticator(page)
    log_in_with_password(page, "grace")
    add_passkey(page, "Phone")
    log_out(page)
    requests.clear()

    # No button is pressed and nothing is typed: the page asks with mediation "conditional", the
    # browser offers the passkey in the field's autofill, and picking it logs in.
    # (Chromium's virtual authenticator picks the one passkey itself, as a person would.)
    page.goto("/accounts/login/")
    page.get_by_label("Email or username").click()
    expect_logged_in_home(page, site, "grace")
    assert requests == ["conditional"]
    assert Passkey.objects.get(user__username="grace").last_used_at is not None
