"""The social pages: people, profiles, follow and unfollow, settings, and one-click unsubscribe."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core import signing
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client, override_settings
from django.utils import timezone

from notifications.checks import follow_rate_limit_readable
from notifications.follows import services as follows
from notifications.models import Follow, FollowerAlertItem, NotificationPreference


def message_of(response):
    """The message this response added (earlier ones wait unread in the cookie)."""
    return [str(message) for message in get_messages(response.wsgi_request)][-1]


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def follower_emails_on(user):
    return follows.notification_preference_get(user=user).follower_emails


# ------------------------------------------------------------------------------------------------
# People and profiles
# ------------------------------------------------------------------------------------------------
def test_users_page_lists_people_with_follower_counts(user_factory, client, alice, bob):
    carol = user_factory("carol")
    user_factory("gone", is_active=False)
    user_factory("squatter", confirmed=False)
    Follow.objects.create(follower=alice, followed=bob)
    Follow.objects.create(follower=carol, followed=bob)
    response = client.get("/users/")
    assert response.status_code == 200
    people = {person.username: person.follower_count for person in response.context["page"]}
    assert people == {"alice": 0, "bob": 2, "carol": 0}
    assert b'href="/u/bob/"' in response.content


def test_users_page_is_paginated_and_searchable(client, db):
    get_user_model().objects.bulk_create(
        get_user_model()(username=f"user{i:03}", email=f"user{i:03}@example.com", email_confirmed_at=timezone.now())
        for i in range(60)
    )
    first, second = client.get("/users/"), client.get("/users/?page=2")
    assert len(first.context["page"]) == 50 and len(second.context["page"]) == 10
    assert client.get("/users/?page=999").status_code == 200  # past the end: the last page
    found = client.get("/users/?q=user05")
    assert [person.username for person in found.context["page"]] == [f"user05{i}" for i in range(10)]


def test_profile_shows_counts_and_the_right_button(user_factory, client, alice, bob):
    Follow.objects.create(follower=alice, followed=bob)
    anonymous = client.get("/u/bob/")
    assert anonymous.status_code == 200
    assert anonymous.context["follower_count"] == 1 and anonymous.context["following_count"] == 0
    assert b"Log in to follow" in anonymous.content

    client.force_login(alice)
    assert b'action="/u/bob/unfollow/"' in client.get("/u/bob/").content
    assert b'action="/u/alice/follow/"' not in client.get("/u/alice/").content  # not on your own page
    client.force_login(user_factory("carol"))
    assert b'action="/u/bob/follow/"' in client.get("/u/BOB/").content  # any case finds the user


def test_unknown_or_inactive_profiles_are_404(user_factory, client, db):
    user_factory("gone", is_active=False)
    assert client.get("/u/nobody/").status_code == 404
    assert client.get("/u/gone/").status_code == 404
    assert client.get("/u/nobody/followers/").status_code == 404


def test_unconfirmed_accounts_are_hidden_but_from_themselves(user_factory, client, db):
    squatter = user_factory("squatter", confirmed=False)
    assert list(client.get("/users/?q=squatter").context["page"]) == []
    assert client.get("/u/squatter/").status_code == 404
    client.force_login(squatter)
    assert client.get("/u/squatter/").status_code == 200  # the account menu's "Your profile"


def test_followers_and_following_pages(client, alice, bob):
    Follow.objects.create(follower=alice, followed=bob)
    followers = client.get("/u/bob/followers/")
    assert followers.status_code == 200 and [p.username for p in followers.context["page"]] == ["alice"]
    following = client.get("/u/alice/following/")
    assert following.status_code == 200 and [p.username for p in following.context["page"]] == ["bob"]
    assert b"Nobody follows alice yet." in client.get("/u/alice/followers/").content


def test_followers_page_is_paginated(client, bob):
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"fan{i:03}", email=f"fan{i:03}@example.com", email_confirmed_at=timezone.now())
        for i in range(55)
    )
    Follow.objects.bulk_create(Follow(follower=user, followed=bob) for user in users)
    assert len(client.get("/u/bob/followers/").context["page"]) == 50
    assert len(client.get("/u/bob/followers/?page=2").context["page"]) == 5


# ------------------------------------------------------------------------------------------------
# Follow and unfollow
# ------------------------------------------------------------------------------------------------
def test_follow_redirects_back_to_the_profile_with_a_message(as_alice, alice, bob):
    response = as_alice.post("/u/bob/follow/")
    assert response.status_code == 302 and response["Location"] == "/u/bob/"
    assert message_of(response) == "You are now following bob."
    assert Follow.objects.filter(follower=alice, followed=bob).exists()


def test_following_twice_is_a_no_op(as_alice, bob):
    as_alice.post("/u/bob/follow/")
    response = as_alice.post("/u/bob/follow/")
    assert response.status_code == 302 and message_of(response) == "You already follow bob."
    assert Follow.objects.count() == 1


def test_following_yourself_is_refused(as_alice):
    response = as_alice.post("/u/alice/follow/")
    assert response.status_code == 302 and response["Location"] == "/u/alice/"
    assert message_of(response) == "You cannot follow yourself."
    assert not Follow.objects.exists()


@pytest.mark.usefixtures("redis_client")
def test_following_and_unfollowing_too_fast_is_a_429_page_with_retry_after(
    as_alice, alice, bob, user_factory, settings
):
    settings.NOTIFICATIONS_FOLLOW_RATE_LIMIT = "3/m"
    carol = user_factory("carol")
    statuses = [as_alice.post(path).status_code for path in ("/u/bob/follow/", "/u/bob/unfollow/", "/u/bob/follow/")]
    assert statuses == [302, 302, 302]
    for path in ("/u/bob/unfollow/", "/u/carol/follow/"):  # one window for every follow and unfollow
        response = as_alice.post(path)
        assert response.status_code == 429 and 0 < int(response["Retry-After"]) <= 60
        page = response.content.decode()
        assert "You have followed and unfollowed too often" in page and f"{response['Retry-After']} seconds" in page
    assert list(Follow.objects.values_list("follower", "followed")) == [(alice.pk, bob.pk)]
    # Somebody else has a window of their own.
    as_alice.force_login(carol)
    assert as_alice.post("/u/bob/follow/").status_code == 302


def test_unconfirmed_accounts_cannot_follow(user_factory, client, bob):
    client.force_login(user_factory("newbie", confirmed=False))
    for action in ("follow", "unfollow"):
        response = client.post(f"/u/bob/{action}/")
        assert response.status_code == 302 and response["Location"] == "/u/bob/"
        assert message_of(response) == "Confirm your email address before following people."
    assert not Follow.objects.exists()


def test_follow_needs_log_in_and_comes_back_to_the_profile(client, bob):
    response = client.post("/u/bob/follow/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/u/bob/")
    assert not Follow.objects.exists()


def test_follow_and_unfollow_are_post_only(as_alice, bob):
    assert as_alice.get("/u/bob/follow/").status_code == 405
    assert as_alice.get("/u/bob/unfollow/").status_code == 405
    assert not Follow.objects.exists()


def test_follow_of_an_unknown_user_is_404(as_alice):
    assert as_alice.post("/u/nobody/follow/").status_code == 404
    assert as_alice.post("/u/nobody/unfollow/").status_code == 404


def test_follow_needs_a_csrf_token(alice, bob):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/u/bob/follow/").status_code == 403
    assert not Follow.objects.exists()
    page = client.get("/u/bob/")
    token = page.context["csrf_token"]
    assert client.post("/u/bob/follow/", {"csrfmiddlewaretoken": str(token)}).status_code == 302
    assert Follow.objects.filter(follower=alice, followed=bob).exists()


def test_unfollow(as_alice, alice, bob):
    as_alice.post("/u/bob/follow/")
    response = as_alice.post("/u/bob/unfollow/")
    assert response.status_code == 302 and response["Location"] == "/u/bob/"
    assert message_of(response) == "You no longer follow bob."
    assert not Follow.objects.exists()
    assert not FollowerAlertItem.objects.exists()  # dropped from the alert not yet sent
    again = as_alice.post("/u/bob/unfollow/")
    assert message_of(again) == "You were not following bob."


# ------------------------------------------------------------------------------------------------
# Notification settings
# ------------------------------------------------------------------------------------------------
def test_settings_need_log_in(client, db):
    response = client.get("/settings/notifications/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_settings_turn_follower_emails_off_and_on(as_alice, alice):
    page = as_alice.get("/settings/notifications/")
    assert page.status_code == 200 and b'name="follower_emails"' in page.content and b"checked" in page.content

    response = as_alice.post("/settings/notifications/", {})
    assert response.status_code == 302 and response["Location"] == "/settings/notifications/"
    assert message_of(response) == "Your notification settings were saved."
    assert follower_emails_on(alice) is False
    assert b"checked" not in as_alice.get("/settings/notifications/").content

    as_alice.post("/settings/notifications/", {"follower_emails": "on"})
    assert follower_emails_on(alice) is True


def test_settings_warn_an_unconfirmed_user(user_factory, client, db):
    client.force_login(user_factory("newbie", confirmed=False))
    assert b"not confirmed yet" in client.get("/settings/notifications/").content


# ------------------------------------------------------------------------------------------------
# Unsubscribe by signed link: GET asks, POST (one-click, no log-in, no CSRF token) turns emails off
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def mail_client():
    """A mail client's one-click POST: no cookies, and CSRF checks enforced as in production."""
    return Client(enforce_csrf_checks=True)


def test_get_shows_a_confirm_page_and_changes_nothing(mail_client, bob):
    token = follows.unsubscribe_token_make(user=bob)
    response = mail_client.get(f"/notifications/unsubscribe/{token}/")
    assert response.status_code == 200 and b'method="post"' in response.content
    assert follower_emails_on(bob) is True
    assert not NotificationPreference.objects.exists()


def test_the_unsubscribe_page_speaks_the_recipients_language(mail_client, user_factory, db):
    li = user_factory("li", language="zh-hans")
    token = follows.unsubscribe_token_make(user=li)
    for response in (
        mail_client.get(f"/notifications/unsubscribe/{token}/", headers={"accept-language": "en"}),
        mail_client.post(f"/notifications/unsubscribe/{token}/", headers={"accept-language": "en"}),
    ):
        assert response["Content-Language"] == "zh-hans"
        assert b'<html lang="zh-hans">' in response.content


def test_one_click_post_turns_follower_emails_off(mail_client, bob):
    token = follows.unsubscribe_token_make(user=bob)
    response = mail_client.post(
        f"/notifications/unsubscribe/{token}/",
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200 and b"You are unsubscribed" in response.content
    assert follower_emails_on(bob) is False
    # Doing it again is harmless.
    assert mail_client.post(f"/notifications/unsubscribe/{token}/").status_code == 200
    assert follower_emails_on(bob) is False


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda user: follows.unsubscribe_token_make(user=user)[:-2] + "xx", id="tampered"),
        pytest.param(lambda user: follows.unsubscribe_token_make(user=user)[:20], id="truncated"),
        pytest.param(
            lambda user: signing.dumps({"u": user.pk, "k": "follower_emails"}, salt="accounts.confirm"),
            id="other-purpose",
        ),
        pytest.param(
            lambda user: signing.dumps({"u": user.pk, "k": "follower_emails"}, key="another-site", salt="x"),
            id="other-key",
        ),
        pytest.param(
            lambda user: signing.dumps({"u": user.pk, "k": "everything"}, salt=follows.UNSUBSCRIBE_SALT),
            id="other-kind",
        ),
        pytest.param(lambda user: "not-a-token", id="garbage"),
    ],
)
def test_a_bad_token_changes_nothing(mail_client, bob, make_token):
    token = make_token(bob)
    assert mail_client.get(f"/notifications/unsubscribe/{token}/").status_code == 400
    response = mail_client.post(f"/notifications/unsubscribe/{token}/", {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 400 and b"not valid" in response.content
    assert follower_emails_on(bob) is True


def test_a_token_only_unsubscribes_its_own_user(mail_client, alice, bob):
    mail_client.post(f"/notifications/unsubscribe/{follows.unsubscribe_token_make(user=alice)}/")
    assert follower_emails_on(alice) is False
    assert follower_emails_on(bob) is True


def test_tokens_survive_key_rotation(mail_client, bob, settings):
    token = follows.unsubscribe_token_make(user=bob)
    with override_settings(SECRET_KEY="a-new-key", SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]):
        assert mail_client.post(f"/notifications/unsubscribe/{token}/").status_code == 200
    assert follower_emails_on(bob) is False


# ------------------------------------------------------------------------------------------------
# Opting out, then being followed
# ------------------------------------------------------------------------------------------------
def follow_and_process(alice, followed):
    """alice follows through the page; then a worker looks at `followed`'s pending follows."""
    client = Client()
    client.force_login(alice)
    assert client.post(f"/u/{followed.username}/follow/").status_code == 302
    follows.follower_alerts_process(recipient_id=followed.pk)


def emails_to(outbox, user):
    return outbox.rows(recipients=user.email).count()


def test_a_follow_alerts_by_default(alice, bob, outbox):
    follow_and_process(alice, bob)
    assert emails_to(outbox, bob) == 1


def test_opted_out_on_the_settings_page_no_alert(alice, bob, outbox):
    client = Client()
    client.force_login(bob)
    client.post("/settings/notifications/", {})
    follow_and_process(alice, bob)
    assert emails_to(outbox, bob) == 0


def test_opted_out_by_one_click_no_alert(mail_client, alice, bob, outbox):
    mail_client.post(f"/notifications/unsubscribe/{follows.unsubscribe_token_make(user=bob)}/")
    follow_and_process(alice, bob)
    assert emails_to(outbox, bob) == 0


def test_a_foreign_token_leaves_alerts_on(mail_client, alice, bob, outbox):
    foreign = signing.dumps({"u": bob.pk, "k": "follower_emails"}, salt="accounts.confirm")
    assert mail_client.post(f"/notifications/unsubscribe/{foreign}/").status_code == 400
    follow_and_process(alice, bob)
    assert emails_to(outbox, bob) == 1


# ------------------------------------------------------------------------------------------------
# Admin
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def admin_client_(client, db):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", None))
    return client


def test_admin_finds_follows_by_either_user(user_factory, admin_client_, alice, bob):
    carol = user_factory("carol")
    Follow.objects.create(follower=alice, followed=bob)
    Follow.objects.create(follower=carol, followed=alice)
    for query, expected in (("bob", 1), ("alice", 2), ("carol@example.com", 1), ("nobody", 0)):
        response = admin_client_.get("/admin/notifications/follow/", {"q": query})
        assert response.status_code == 200
        assert response.context["cl"].result_count == expected, query


def test_admin_lists_and_edits_per_user_settings(admin_client_, bob):
    follows.notification_preference_set(user=bob, follower_emails=False)
    listing = admin_client_.get("/admin/notifications/notificationpreference/", {"q": "bob"})
    assert listing.status_code == 200 and listing.context["cl"].result_count == 1
    change = f"/admin/notifications/notificationpreference/{bob.pk}/change/"
    assert admin_client_.get(change).status_code == 200
    response = admin_client_.post(change, {"user": bob.pk, "follower_emails": "on"})
    assert response.status_code == 302
    assert follower_emails_on(bob) is True


@pytest.mark.parametrize("value", ["lots", "30/fortnight", "0/m", "30", ["30/m"]])
def test_a_follow_rate_limit_that_cannot_be_read_stops_the_start(settings, value):
    settings.NOTIFICATIONS_FOLLOW_RATE_LIMIT = value
    with pytest.raises(SystemCheckError, match="notifications.E001"):
        call_command("check")


@pytest.mark.parametrize("value", ["30/m,300/h", "5/90", ""])
def test_a_readable_follow_rate_limit_passes_the_check(settings, value):
    settings.NOTIFICATIONS_FOLLOW_RATE_LIMIT = value
    assert follow_rate_limit_readable(None) == []
