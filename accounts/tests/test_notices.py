"""Notices a person can act on: when, where from and what to do, and the link that undoes an email
change from the old address even after a thief changed the password (accounts.flows.email_change_revert)."""

import pytest
from django.test import Client

from accounts.flows.password_reset import password_changed_notify
from accounts.origin import user_agent_describe

from .api_helpers import ApiClient
from .support import NEW_PASSWORDS, PASSWORD, html_of, link_path

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
EDGE = CHROME_WINDOWS + " Edg/126.0.2592.87"
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.6478.122 Mobile Safari/537.36"
)
MAC_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"
)


@pytest.mark.parametrize(
    ("user_agent", "browser", "system"),
    [
        (FIREFOX, "Firefox 128", "Linux"),
        (CHROME_WINDOWS, "Chrome 126", "Windows"),
        (SAFARI_IPHONE, "Safari 17", "iOS"),
        (EDGE, "Edge 126", "Windows"),
        (ANDROID_CHROME, "Chrome 126", "Android"),
        (MAC_SAFARI, "Safari 17", "macOS"),
        ("curl/8.5.0", "", ""),
        ("", "", ""),
    ],
)
def test_user_agent_describe_names_the_common_families(user_agent, browser, system):
    assert user_agent_describe(user_agent) == {"browser": browser, "system": system}


def _origin_shown(message, *, ip, browser):
    for part in (message.body, html_of(message)):
        assert ip in part and browser in part
        assert " UTC" in part


# ------------------------------------------------------------------------------------------------
# What the notices say
# ------------------------------------------------------------------------------------------------
def test_password_change_notice_says_when_where_and_how_to_reset(user_factory, client, outbox):
    user = user_factory()
    client.force_login(user)
    data = {"old_password": PASSWORD, **NEW_PASSWORDS}
    response = client.post("/accounts/password/change/", data, REMOTE_ADDR="198.51.100.4", HTTP_USER_AGENT=FIREFOX)
    assert response.status_code == 302
    notice = outbox.last_to("ada@example.com")
    _origin_shown(notice, ip="198.51.100.4", browser="Firefox 128 on Linux")
    assert link_path(notice, "/accounts/password/reset/") == "/accounts/password/reset/"


def test_password_reset_notice_carries_the_resetting_browser(user_factory, client, outbox):
    user_factory()
    client.post("/accounts/password/reset/", {"email": "ada@example.com"})
    path = link_path(outbox.last_to("ada@example.com"), "/accounts/password/reset/")
    page = client.get(path)
    client.post(page["Location"], NEW_PASSWORDS, REMOTE_ADDR="198.51.100.9", HTTP_USER_AGENT=SAFARI_IPHONE)
    notice = outbox.last_to("ada@example.com")
    assert notice.subject == "Your mailsite password was changed"
    _origin_shown(notice, ip="198.51.100.9", browser="Safari 17 on iOS")


def test_api_password_change_notice_carries_the_app(user_factory, outbox):
    user_factory()
    api = ApiClient("app")
    api.http = Client(enforce_csrf_checks=True, REMOTE_ADDR="192.0.2.33", HTTP_USER_AGENT=CHROME_WINDOWS)
    api.post("/auth/login", {"login": "ada", "password": PASSWORD})
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORDS["new_password1"]}
    assert api.post("/account/password/change", body).status_code == 200
    _origin_shown(outbox.last_to("ada@example.com"), ip="192.0.2.33", browser="Chrome 126 on Windows")


def test_other_callers_still_get_a_notice_without_request_details(user_factory, outbox):
    password_changed_notify(user=user_factory())
    assert "unknown" in outbox.last_to("ada@example.com").body


def _change_address(client, new_email, outbox, **request):
    client.post("/accounts/email/change/", {"email": new_email, "password": PASSWORD})
    path = link_path(outbox.last_to(new_email), "/accounts/email/change/confirm/")
    assert client.post(path, **request).status_code == 302


def test_email_change_notice_says_where_from_and_carries_the_undo_link(user_factory, client, outbox):
    client.force_login(user_factory())
    _change_address(client, "moved@example.com", outbox, REMOTE_ADDR="203.0.113.50", HTTP_USER_AGENT=EDGE)
    notice = outbox.last_to("ada@example.com")
    _origin_shown(notice, ip="203.0.113.50", browser="Edge 126 on Windows")
    assert link_path(notice, "/accounts/email/revert/").startswith("/accounts/email/revert/")
    row = outbox.rows().filter(template="email_change_notice").get()
    assert row.sensitive


def test_api_email_change_confirm_passes_the_request_details(user_factory, client, outbox):
    client.force_login(user_factory())
    client.post("/accounts/email/change/", {"email": "moved@example.com", "password": PASSWORD})
    path = link_path(outbox.last_to("moved@example.com"), "/accounts/email/change/confirm/")
    api = ApiClient("app")
    api.http = Client(enforce_csrf_checks=True, REMOTE_ADDR="192.0.2.77", HTTP_USER_AGENT=FIREFOX)
    key = path.rstrip("/").rsplit("/", 1)[1]
    assert api.post("/account/email/change/confirm", {"key": key}).status_code == 200
    _origin_shown(outbox.last_to("ada@example.com"), ip="192.0.2.77", browser="Firefox 128 on Linux")


# ------------------------------------------------------------------------------------------------
# Undoing a change from the old address
# ------------------------------------------------------------------------------------------------
def test_owner_takes_the_account_back_after_a_thief_changed_address_and_password(user_factory, outbox):
    owner = user_factory()
    thief = Client(HTTP_USER_AGENT=FIREFOX)
    assert thief.post("/accounts/login/", {"username": "ada", "password": PASSWORD}).status_code == 302
    _change_address(thief, "thief@evil.example", outbox)
    response = thief.post("/accounts/password/change/", {"old_password": PASSWORD, **NEW_PASSWORDS})
    assert response.status_code == 302
    thief_app = ApiClient("app")
    thief_app.post("/auth/login", {"login": "ada", "password": NEW_PASSWORDS["new_password1"]})
    assert thief_app.get("/account/sessions").status_code == 200
    # A reset asked for now would go to the thief: only the notice to the old address helps.
    notice = next(
        m for m in outbox.messages_to("ada@example.com") if "was changed" in m.subject and "address" in m.subject
    )
    revert = link_path(notice, "/accounts/email/revert/")

    rightful = Client()
    response = rightful.get(revert)
    assert response.status_code == 302 and response["Location"] == "/accounts/email/revert/"
    page = rightful.get("/accounts/email/revert/")
    assert page.status_code == 200 and "thief@evil.example" in page.content.decode()
    owner.refresh_from_db()
    assert owner.email == "thief@evil.example"  # GET changes nothing
    done = rightful.post("/accounts/email/revert/")
    assert done.status_code == 200 and "ada@example.com" in done.content.decode()

    owner.refresh_from_db()
    assert owner.email == "ada@example.com" and owner.email_confirmed
    assert not owner.has_usable_password()
    assert thief.get("/accounts/password/change/").status_code == 302  # to the log-in page
    assert thief_app.get("/account/sessions").status_code == 401
    login = {"username": "ada", "password": NEW_PASSWORDS["new_password1"]}
    assert Client().post("/accounts/login/", login).status_code == 200  # refused

    reset_mail = outbox.last_to("ada@example.com")
    assert reset_mail.subject == "Your mailsite address is back: choose a new password"
    reset_links = outbox.rows().filter(template__in=["password_reset", "email_change_reverted"])
    assert [row.recipients for row in reset_links] == ["ada@example.com"]
    reset = link_path(reset_mail, "/accounts/password/reset/")
    form = rightful.get(reset)
    mine = {"new_password1": "my own passphrase again 7", "new_password2": "my own passphrase again 7"}
    assert rightful.post(form["Location"], mine).status_code == 302
    assert (
        Client()
        .post("/accounts/login/", {"username": "ada@example.com", "password": mine["new_password1"]})
        .status_code
        == 302
    )

    assert rightful.post(revert).status_code == 400  # single use


def test_revert_link_dies_when_the_address_changes_again(user_factory, client, outbox):
    client.force_login(user_factory())
    _change_address(client, "second@example.com", outbox)
    revert = link_path(outbox.last_to("ada@example.com"), "/accounts/email/revert/")
    _change_address(client, "third@example.com", outbox)
    response = client.post(revert)
    assert response.status_code == 400
    assert "changed again" in response.content.decode()


def test_revert_link_is_dead_after_a_revert_and_a_new_change_to_the_same_address(
    user_factory, client, outbox, no_limits
):
    user = user_factory()
    client.force_login(user)
    _change_address(client, "second@example.com", outbox)
    first = link_path(outbox.last_to("ada@example.com"), "/accounts/email/revert/")
    assert Client().post(first).status_code == 200
    user.set_password(PASSWORD)
    user.save()
    client.force_login(user)
    _change_address(client, "second@example.com", outbox)  # the same change once more
    assert Client().post(first).status_code == 400


def test_revert_frees_the_old_address_from_an_unconfirmed_sign_up(user_factory, client, outbox):
    client.force_login(user_factory())
    _change_address(client, "moved@example.com", outbox)
    revert = link_path(outbox.last_to("ada@example.com"), "/accounts/email/revert/")
    squatter = user_factory("ada@example.com", username="squatter", confirmed=False)
    assert Client().post(revert).status_code == 200
    assert not type(squatter).objects.filter(pk=squatter.pk).exists()


def test_revert_refused_when_a_confirmed_account_has_the_old_address(user_factory, client, outbox):
    user = user_factory()
    client.force_login(user)
    _change_address(client, "moved@example.com", outbox)
    revert = link_path(outbox.last_to("ada@example.com"), "/accounts/email/revert/")
    user_factory("ada@example.com", username="grace")
    response = Client().post(revert)
    assert response.status_code == 400 and "Another account" in response.content.decode()
    user.refresh_from_db()
    assert user.email == "moved@example.com" and user.has_usable_password()


def test_revert_link_expires(user_factory, client, outbox, settings):
    client.force_login(user_factory())
    _change_address(client, "moved@example.com", outbox)
    revert = link_path(outbox.last_to("ada@example.com"), "/accounts/email/revert/")
    settings.ACCOUNTS_EMAIL_REVERT_TIMEOUT = -1
    response = Client().post(revert)
    assert response.status_code == 400 and "expired" in response.content.decode()


def test_a_bad_revert_token_is_a_400(db, client):
    assert client.post("/accounts/email/revert/not-a-token/").status_code == 400
    assert client.get("/accounts/email/revert/").status_code == 400


def test_chinese_notice_names_the_browser_in_chinese(user_factory, client, outbox):
    user = user_factory(language="zh-hans")
    client.force_login(user)
    data = {"old_password": PASSWORD, **NEW_PASSWORDS}
    client.post("/accounts/password/change/", data, REMOTE_ADDR="198.51.100.4", HTTP_USER_AGENT=CHROME_WINDOWS)
    body = outbox.last_to("ada@example.com").body
    assert "浏览器：Windows 上的 Chrome 126" in body and "IP 地址：198.51.100.4" in body


def test_api_reverts_with_the_key_of_the_notice_link(user_factory, client, outbox):
    user = user_factory()
    client.force_login(user)
    _change_address(client, "moved@example.com", outbox)
    key = link_path(outbox.last_to("ada@example.com"), "/accounts/email/revert/").rstrip("/").rsplit("/", 1)[1]
    api = ApiClient("app")
    response = api.post("/account/email/revert", {"key": key})
    assert response.status_code == 200 and response.body == {"email": "ada@example.com"}
    user.refresh_from_db()
    assert user.email == "ada@example.com" and not user.has_usable_password()
    assert outbox.last_to("ada@example.com").subject == "Your mailsite address is back: choose a new password"
    assert client.get("/accounts/password/change/").status_code == 302  # logged out
    assert api.post("/account/email/revert", {"key": key}).status_code == 400


def test_after_a_revert_the_owner_can_ask_for_another_reset(user_factory, client, outbox, no_limits):
    """The revert leaves the password unusable; if its reset link runs out, "Forgot password"
    still reaches the owner (Django's own form would send nothing to such an account)."""
    user = user_factory()
    client.force_login(user)
    _change_address(client, "second@example.com", outbox)
    revert = link_path(outbox.last_to("ada@example.com"), "/accounts/email/revert/")
    assert Client().post(revert).status_code == 200
    user.refresh_from_db()
    assert not user.has_usable_password()

    sent_before = len(outbox.messages_to("ada@example.com"))
    assert Client().post("/accounts/password/reset/", {"email": "ada@example.com"}).status_code == 302
    mails = outbox.messages_to("ada@example.com")
    assert len(mails) == sent_before + 1
    assert link_path(mails[-1], "/accounts/password/reset/")
