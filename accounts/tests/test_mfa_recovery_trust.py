"""Recovery codes, "trust this browser", re-authentication, the admin and staff's second factor."""

import time

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client

from accounts.flows import mfa
from accounts.models import Authenticator, TrustedBrowser

from .mfa_helpers import fresh_code, is_logged_in, login_password, page_recovery_codes, totp_set_up

pytestmark = pytest.mark.django_db


def _notice(outbox, text):
    """The one security notice to ada that says `text`, in its text and its HTML body."""
    found = [m for m in outbox.messages_to("ada@example.com") if text in m.body]
    assert len(found) == 1, [m.subject for m in outbox.messages_to("ada@example.com")]
    html = next(content for content, mimetype in found[0].alternatives if mimetype == "text/html")
    assert "/accounts/security/" in found[0].body and "/accounts/security/" in html
    return found[0]


def _second_factor(client, code, **extra):
    return client.post("/accounts/login/second-factor/", {"code": code, **extra})


# ------------------------------------------------------------------------------------------------
# Recovery codes
# ------------------------------------------------------------------------------------------------
def test_recovery_codes_are_stored_hashed_and_each_works_once(user_factory, outbox):
    ada = user_factory("ada")
    _client, _secret, codes = totp_set_up(ada)
    row = Authenticator.objects.get(user=ada, kind="recovery_codes")
    stored = str(row.data)
    assert not any(code.replace("-", "") in stored for code in codes)
    client = Client()
    login_password(client, ada)
    assert _second_factor(client, codes[0].upper()).status_code == 302  # typed in capitals: still right
    assert is_logged_in(client)
    assert _notice(outbox, "A recovery code was used to log in to your account. 9 codes are left.")
    again = Client()
    login_password(again, ada)
    assert _second_factor(again, codes[0]).status_code == 200
    assert not is_logged_in(again)


def test_running_low_on_recovery_codes_warns_the_owner(user_factory, outbox, no_limits):
    ada = user_factory("ada")
    _client, _secret, codes = totp_set_up(ada)
    for code in codes[:8]:
        client = Client()
        login_password(client, ada)
        assert _second_factor(client, code).status_code == 302
    subjects = [m.subject for m in outbox.messages_to("ada@example.com")]
    assert subjects.count("Your mailsite account is running out of recovery codes") == 1
    assert _notice(outbox, "Only 2 recovery codes are left")


def test_regenerating_kills_the_old_set_and_shows_the_new_one_once(user_factory, outbox):
    ada = user_factory("ada")
    client, _secret, old = totp_set_up(ada)
    response = client.post("/accounts/security/recovery-codes/")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    new = page_recovery_codes(response)
    assert len(new) == 10 and not set(new) & set(old)
    assert b'download="recovery-codes.txt"' in response.content
    assert not any(code in client.get("/accounts/security/").content.decode() for code in new)
    other = Client()
    login_password(other, ada)
    assert _second_factor(other, old[1]).status_code == 200
    assert _second_factor(other, new[1]).status_code == 302
    assert _notice(outbox, "The old codes no longer work")


# ------------------------------------------------------------------------------------------------
# Trust this browser
# ------------------------------------------------------------------------------------------------
def _trusted_client(user_factory):
    ada = user_factory("ada")
    _client, secret, _codes = totp_set_up(ada)
    client = Client()
    login_password(client, ada)
    assert _second_factor(client, fresh_code(ada, secret), trust="on").status_code == 302
    client.post("/accounts/logout/")
    return ada, secret, client


def test_a_trusted_browser_skips_the_second_factor_and_is_listed(user_factory, outbox):
    ada, _secret, client = _trusted_client(user_factory)
    assert _notice(outbox, "A browser was trusted for 30 days")
    response = login_password(client, ada)
    assert response["Location"] != "/accounts/login/second-factor/" and is_logged_in(client)
    page = client.get("/accounts/settings/").content.decode()
    assert 'id="trusted"' in page and "Stop trusting" in page
    # Another browser, with no cookie, is still asked.
    other = Client()
    assert login_password(other, ada)["Location"] == "/accounts/login/second-factor/"


def test_a_password_change_ends_every_trust(user_factory):
    ada, _secret, client = _trusted_client(user_factory)
    ada.set_password("a brand new passphrase 42")
    ada.save()
    response = client.post("/accounts/login/", {"username": ada.email, "password": "a brand new passphrase 42"})
    assert response["Location"] == "/accounts/login/second-factor/"


def test_revoking_a_trust_from_the_settings_page_ends_it(user_factory):
    ada, _secret, client = _trusted_client(user_factory)
    other = Client()
    other.force_login(ada)
    row = TrustedBrowser.objects.get(user=ada)
    assert other.post(f"/accounts/security/trusted/{row.pk}/revoke/").status_code == 302
    assert login_password(client, ada)["Location"] == "/accounts/login/second-factor/"


def test_a_forged_or_foreign_trust_cookie_is_ignored(user_factory):
    ada, _secret, client = _trusted_client(user_factory)
    bob = user_factory("bob")
    totp_set_up(bob)
    assert login_password(client, bob)["Location"] == "/accounts/login/second-factor/"  # ada's cookie
    client.cookies["accounts_trusted_browser"] = "x" * 2000
    assert login_password(client, ada)["Location"] == "/accounts/login/second-factor/"


# ------------------------------------------------------------------------------------------------
# Re-authentication
# ------------------------------------------------------------------------------------------------
def _stale(client):
    session = client.session
    session[mfa.REAUTH_KEY] = {**session[mfa.REAUTH_KEY], "at": time.time() - 301}
    session.save()


def test_a_stale_proof_sends_sensitive_changes_to_re_authenticate(user_factory):
    ada = user_factory("ada")
    client = Client()
    login_password(client, ada)
    _stale(client)
    for path, method in [
        ("/accounts/security/totp/", "get"),
        ("/accounts/sessions/end-others/", "post"),
        ("/accounts/security/recovery-codes/", "post"),
        ("/accounts/security/totp/remove/", "post"),
    ]:
        response = getattr(client, method)(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/reauthenticate/"), path
    wrong = client.post("/accounts/reauthenticate/", {"password": "nope", "next": "/accounts/security/totp/"})
    assert wrong.status_code == 200 and wrong.context["form"].errors
    right = client.post(
        "/accounts/reauthenticate/", {"password": "correct horse battery staple", "next": "/accounts/security/totp/"}
    )
    assert right["Location"] == "/accounts/security/totp/"
    assert client.get("/accounts/security/totp/").status_code == 200


def test_re_authentication_by_authenticator_code(user_factory):
    ada = user_factory("ada")
    client, secret, _codes = totp_set_up(ada)
    _stale(client)
    assert client.post("/accounts/reauthenticate/", {"code": fresh_code(ada, secret)}).status_code == 302
    assert client.post("/accounts/security/totp/remove/").status_code == 302
    assert not Authenticator.objects.filter(user=ada).exists()  # the codes went with the app


def test_an_account_without_a_password_re_authenticates_by_emailed_code(user_factory, smtp_inbox):
    from .api_helpers import code_in

    ada = user_factory("ada", password=None)
    client = Client()
    client.force_login(ada)
    _stale(client)
    page = client.get("/accounts/reauthenticate/")
    assert b'name="password"' not in page.content and b"Email a code" in page.content
    client.post("/accounts/reauthenticate/", {"send_code": "1"})
    code = code_in(smtp_inbox, ada.email)
    assert client.post("/accounts/reauthenticate/", {"code": code}).status_code == 302
    assert mfa.PENDING_KEY not in client.session and client.session[mfa.REAUTH_KEY]["method"] == "code"


# ------------------------------------------------------------------------------------------------
# Admin and staff
# ------------------------------------------------------------------------------------------------
def test_the_admin_lists_factors_without_secrets_and_staff_remove_them(user_factory, outbox):
    ada = user_factory("ada")
    _client, secret, _codes = totp_set_up(ada)
    staff = user_factory("root", is_staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(staff)
    page = admin.get(f"/admin/accounts/user/{ada.pk}/change/").content.decode()
    assert "authenticator app" in page and secret not in page
    assert Authenticator.objects.get(user=ada, kind="totp").data["secret"] not in page
    response = admin.post(
        "/admin/accounts/user/", {"action": "remove_second_factors", "_selected_action": [ada.pk]}, follow=True
    )
    assert response.status_code == 200
    assert not Authenticator.objects.filter(user=ada).exists()
    entry = LogEntry.objects.get(object_id=str(ada.pk))
    assert entry.user == staff and "second factors" in entry.get_change_message()
    assert _notice(outbox, "our staff removed every second factor")


def test_staff_need_a_second_factor_for_the_admin_when_required(user_factory, settings):
    settings.ACCOUNTS_MFA_REQUIRED_FOR_STAFF = True
    staff = user_factory("root", is_staff=True, is_superuser=True)
    client = Client()
    login_password(client, staff)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"] == "/accounts/security/?required=admin"
    assert b"Set up a second factor to use the admin." in client.get(response["Location"]).content
    totp_set_up(staff, client=client)
    assert client.get("/admin/").status_code == 200
