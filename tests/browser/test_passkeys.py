"""Passkeys in headless Chromium with a virtual authenticator (the DevTools protocol's WebAuthn
domain: a CTAP2 platform authenticator that keeps discoverable credentials and verifies the
user), against the live server on real PostgreSQL and Redis.

The browser makes and signs with real keys; the server checks them with py_webauthn. Nothing on
the server side is mocked."""

import re
import socket
import threading

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


def test_removed_passkey_logs_in_no_more(page, site, user_factory):
    user_factory("alan")
    watch_passkey_requests(page, autofill=False)
    authenticator(page)
    log_in_with_password(page, "alan")
    add_passkey(page, "Old key")
    page.get_by_role("button", name="Remove Old key").click()
    expect(page.locator(".messages")).to_contain_text("Passkey “Old key” removed.")
    expect(page.locator("tr[data-passkey]")).to_have_count(0)
    assert not Passkey.objects.filter(user__username="alan").exists()

    log_out(page)  # the authenticator still holds the passkey; the site no longer knows it
    page.goto("/accounts/login/")
    page.get_by_role("button", name="Log in with a passkey").click()
    expect(page.locator("[data-passkey-status]")).to_have_text("This passkey is not registered here.")
    expect(page).to_have_url(f"{site.url}/accounts/login/")
    assert not logged_in(page)


def logged_in(page):
    return page.request.get("/accounts/settings/", max_redirects=0).status == 200


REPLAY = """async (body) => {
  const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
  const response = await fetch("/accounts/passkeys/login/finish/", {
    method: "POST", headers: {"Content-Type": "application/json", "X-CSRFToken": token}, body: body});
  return {status: response.status, body: await response.json()};
}"""


def test_a_replayed_assertion_is_refused(page, site, user_factory):
    user_factory("edsger")
    watch_passkey_requests(page, autofill=False)
    authenticator(page)
    log_in_with_password(page, "edsger")
    add_passkey(page, "Laptop")
    log_out(page)

    page.goto("/accounts/login/")
    with page.expect_request("**/accounts/passkeys/login/finish/") as finish:
        page.get_by_role("button", name="Log in with a passkey").click()
    expect_logged_in_home(page, site, "edsger")
    assertion = finish.value.post_data
    counted = Passkey.objects.get(user__username="edsger").sign_count

    # The same answer again: in the session that used it, and in a fresh one that asked for a
    # challenge of its own. Both refused, and neither logs in or moves the counter.
    same_session = page.evaluate(REPLAY, assertion)
    assert same_session["status"] == 400
    assert same_session["body"]["errors"]["credential"][0]["code"] == "challenge_expired"
    log_out(page)
    page.goto("/accounts/login/")
    page.evaluate(
        """async () => { const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
        await fetch("/accounts/passkeys/login/begin/", {method: "POST", headers: {"X-CSRFToken": token}}); }"""
    )
    fresh_session = page.evaluate(REPLAY, assertion)
    assert fresh_session["status"] == 400
    assert fresh_session["body"]["errors"]["credential"][0]["code"] == "invalid"
    assert not logged_in(page)
    assert Passkey.objects.get(user__username="edsger").sign_count == counted


class PortForward:
    """The live server seen on another port of localhost: a byte-for-byte TCP relay."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()


@pytest.fixture
def other_port(site):
    forward = PortForward(int(site.url.rsplit(":", 1)[1]))
    yield f"http://localhost:{forward.port}"
    forward.close()


def test_origin_and_rp_id_are_the_site_url(page, site, user_factory, other_port):
    """The page served on another port is another origin, with the same RP ID (localhost): the
    browser makes and signs with passkeys there, and the server, which expects SITE_URL's origin
    whatever the Host header says, refuses them. From 127.0.0.1 the RP ID itself is wrong, and the
    browser refuses before the server is asked."""
    user = user_factory("barbara")
    watch_passkey_requests(page, autofill=False)
    cdp, auth_id = authenticator(page)
    log_in_with_password(page, "barbara")  # cookies are per host, not per port: logged in on both

    page.goto(f"{other_port}/accounts/passkeys/")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator("[data-passkey-status]")).to_have_text("The passkey could not be checked. Please try again.")
    assert len(credentials_of(cdp, auth_id)) == 1  # the browser made one ...
    assert not Passkey.objects.filter(user=user).exists()  # ... which the site did not take

    port = site.url.rsplit(":", 1)[1]
    page.goto(f"http://127.0.0.1:{port}/accounts/login/")
    page.get_by_label("Email or username").fill("barbara")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.goto(f"http://127.0.0.1:{port}/accounts/passkeys/")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator("[data-passkey-status]")).not_to_be_empty()
    assert len(credentials_of(cdp, auth_id)) == 1  # the browser refused the RP ID: nothing made
    assert not Passkey.objects.filter(user=user).exists()

    # A passkey made on the site itself does not log in from the other port.
    cdp.send("WebAuthn.clearCredentials", {"authenticatorId": auth_id})  # the one the site refused
    page.goto("/accounts/passkeys/")
    add_passkey(page, "Laptop")
    log_out(page)
    page.goto(f"{other_port}/accounts/login/")
    page.get_by_role("button", name="Log in with a passkey").click()
    expect(page.locator("[data-passkey-status]")).to_have_text("The passkey could not be checked. Please try again.")
    assert Passkey.objects.get(user=user).last_used_at is None
    page.goto("/accounts/settings/")
    expect(page).to_have_url(f"{site.url}/accounts/login/?next=/accounts/settings/")


def test_sign_up_with_a_passkey_then_confirm_the_address(page, site, inbox):
    watch_passkey_requests(page, autofill=False)
    cdp, auth_id = authenticator(page)
    page.goto("/accounts/signup/")
    page.get_by_role("link", name="Sign up with a passkey instead of a password").click()
    page.get_by_label("Email address").fill("radia@example.com")
    page.get_by_label("Username").fill("radia")
    page.get_by_role("button", name="Create a passkey and sign up").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    assert len(credentials_of(cdp, auth_id)) == 1

    mail = inbox.next_to("radia@example.com")  # the worker made the account with its passkey
    passkey = Passkey.objects.select_related("user").get(user__username="radia")
    assert not passkey.user.has_usable_password() and passkey.user.email_confirmed_at is None

    # Not usable before the address is proven.
    page.goto("/accounts/login/")
    page.get_by_role("button", name="Log in with a passkey").click()
    expect(page.locator("[data-passkey-status]")).to_contain_text("This account cannot log in yet")
    assert not logged_in(page)

    page.goto(mail.link("/accounts/confirm/"))
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".messages")).to_contain_text("Thank you: radia@example.com is confirmed.")
    page.goto("/accounts/login/")
    page.get_by_role("button", name="Log in with a passkey").click()
    expect_logged_in_home(page, site, "radia")


def test_passkey_sign_up_shows_field_errors(page, site, user_factory):
    user_factory("taken")
    cdp, auth_id = authenticator(page)
    page.goto("/accounts/signup/passkey/")
    page.get_by_label("Email address").fill("not an address")
    page.get_by_label("Username").fill("taken")
    page.get_by_role("button", name="Create a passkey and sign up").click()
    expect(page.locator("[data-field-error]")).to_have_count(2)
    expect(page.locator("[data-field-error]").last).to_have_text("That username is taken.")
    assert credentials_of(cdp, auth_id) == []  # nothing asked of the authenticator


def session_of(page):
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore

    (key,) = [c["value"] for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME]
    return SessionStore(session_key=key).load()


def test_a_passkey_as_the_second_factor_and_for_re_authentication(page, site, user_factory, settings):
    user_factory("hedy")
    watch_passkey_requests(page, autofill=False)
    authenticator(page)
    log_in_with_password(page, "hedy")
    add_passkey(page, "Laptop")
    log_out(page)

    # The password is no longer enough: the log-in waits for the passkey.
    page.goto("/accounts/login/")
    page.get_by_label("Email or username").fill("hedy")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page).to_have_url(f"{site.url}/accounts/login/second-factor/")
    assert not logged_in(page)
    page.get_by_role("button", name="Use a passkey").click()
    expect_logged_in_home(page, site, "hedy")
    assert session_of(page)["accounts_reauth"]["method"] == "passkey"

    # Later, a change of factors asks for a fresh proof; the passkey gives it.
    settings.ACCOUNTS_REAUTH_TIMEOUT = 0
    page.goto("/accounts/passkeys/")
    expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/\?next="))
    settings.ACCOUNTS_REAUTH_TIMEOUT = 300
    before = session_of(page)["accounts_reauth"]["at"]
    page.get_by_role("button", name="Use a passkey").click()
    expect(page).to_have_url(f"{site.url}/accounts/passkeys/")
    proof = session_of(page)["accounts_reauth"]
    assert proof["method"] == "passkey" and proof["at"] > before
