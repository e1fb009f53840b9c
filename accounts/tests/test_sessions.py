"""Per-user sessions: recorded at log-in, listed with their device, ended from another browser."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.flows import sessions
from accounts.models import UserSession
from testing.users import PASSWORD

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def logged_in_client(user, user_agent=FIREFOX, ip="203.0.113.7"):
    client = Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)
    response = client.post("/accounts/login/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def logged_in(client):
    return client.get("/").context["user"].is_authenticated


def test_login_records_the_session_with_its_key_hashed(user_factory):
    ada = user_factory("ada")
    client = logged_in_client(ada)
    key = client.session.session_key
    row = UserSession.objects.get(user=ada)
    assert row.key_hash == sessions.session_key_hash(key)
    assert key not in row.key_hash
    assert (row.ip, row.user_agent) == ("203.0.113.7", FIREFOX)
    [info] = sessions.session_list(user=ada, current_session_key=key)
    assert (info.device, info.ip, info.current) == ("Firefox 128 · Windows", "203.0.113.7", True)


def test_ending_other_sessions_logs_them_out_and_keeps_this_one(user_factory):
    ada = user_factory("ada")
    laptop, phone = logged_in_client(ada), logged_in_client(ada, SAFARI_IPHONE, "198.51.100.2")
    listed = sessions.session_list(user=ada, current_session_key=laptop.session.session_key)
    assert {(info.device, info.current) for info in listed} == {
        ("Firefox 128 · Windows", True),
        ("Safari 17 · iOS", False),
    }

    assert sessions.sessions_end_others(user=ada, keep_session_key=laptop.session.session_key) == 1
    assert not logged_in(phone)
    assert logged_in(laptop)
    assert [info.current for info in sessions.session_list(user=ada)] == [False]  # no key given


def test_the_settings_page_lists_sessions_and_ends_the_others(user_factory):
    ada = user_factory("ada")
    laptop, phone = logged_in_client(ada), logged_in_client(ada, SAFARI_IPHONE, "198.51.100.2")
    page = laptop.get("/accounts/settings/")
    assert page.status_code == 200
    assert "Safari 17 · iOS" in page.content.decode() and b"198.51.100.2" in page.content
    response = laptop.post("/accounts/sessions/end-others/")
    assert response.status_code == 302
    assert not logged_in(phone)
    assert logged_in(laptop)


def test_a_session_that_predates_tracking_is_adopted_not_logged_out(user_factory):
    ada = user_factory("ada")
    client = Client()
    client.force_login(ada)
    UserSession.objects.all().delete()
    session = client.session
    session.pop(sessions.TRACKED_SESSION_KEY, None)
    session.save()
    assert logged_in(client)
    assert UserSession.objects.filter(user=ada).count() == 1


def test_last_seen_is_written_at_most_once_per_interval(user_factory):
    ada = user_factory("ada")
    client = logged_in_client(ada)
    row = UserSession.objects.get(user=ada)
    earlier = timezone.now() - timedelta(seconds=30)
    UserSession.objects.filter(pk=row.pk).update(last_seen_at=earlier)
    client.get("/")
    assert UserSession.objects.get(pk=row.pk).last_seen_at == earlier
    UserSession.objects.filter(pk=row.pk).update(last_seen_at=earlier - timedelta(seconds=60))
    client.get("/")
    assert UserSession.objects.get(pk=row.pk).last_seen_at > earlier


def test_password_change_keeps_this_session_and_ends_the_others(user_factory):
    ada = user_factory("ada")
    laptop, phone = logged_in_client(ada), logged_in_client(ada, SAFARI_IPHONE)
    new = "another long passphrase 77"
    response = laptop.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert logged_in(laptop)
    assert not logged_in(phone)
    [info] = sessions.session_list(user=ada, current_session_key=laptop.session.session_key)
    assert info.current


def test_logout_forgets_the_session(user_factory):
    ada = user_factory("ada")
    client = logged_in_client(ada)
    client.post("/accounts/logout/")
    assert not UserSession.objects.filter(user=ada).exists()


def test_one_user_cannot_end_another_users_session(user_factory):
    ada, bob = user_factory("ada"), user_factory("bob")
    bob_client = logged_in_client(bob)
    [bobs] = sessions.session_list(user=bob)
    assert sessions.session_end(user=ada, session_id=bobs.id) is False
    assert logged_in(bob_client)


@pytest.mark.parametrize(
    ("user_agent", "device"),
    [
        (FIREFOX, "Firefox 128 · Windows"),
        (SAFARI_IPHONE, "Safari 17 · iOS"),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
            "Chrome 126 · Linux",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0 Safari/537.36 Edg/126.0",
            "Edge 126 · Windows",
        ),
        ("", "Unknown device"),
    ],
)
def test_device_names(user_agent, device):
    assert sessions.device_describe(user_agent) == device
