"""Follows in headless Chromium, end to end: a follow sends the followed person an alert through a
real worker; its unsubscribe link, opened from the mail and confirmed, stops the next one."""

import time

import pytest
from playwright.sync_api import expect

from notifications.models import FollowerAlertItem, FollowerAlertState, NotificationPreference, OutboundEmail

from .conftest import PASSWORD

pytestmark = pytest.mark.browser

# A short coalescing window: after an alert, follows inside the window wait for one digest at its
# end. Waiting past it shows that no digest comes either.
WINDOW = 2


def follow(page, follower, followed):
    page.goto("/accounts/login/")
    page.get_by_label("Email or username").fill(follower)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", name=f"Hello, {follower}")).to_be_visible()
    page.goto(f"/u/{followed}/")
    page.get_by_role("button", name="Follow", exact=True).click()
    expect(page.locator(".messages")).to_contain_text(f"You are now following {followed}.")
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()


def test_follow_alert_then_unsubscribe(open_page, inbox_factory, user_factory, settings, redis_cache):
    settings.NOTIFICATIONS_FOLLOW_WINDOW = WINDOW
    inbox = inbox_factory(NOTIFICATIONS_FOLLOW_WINDOW=WINDOW)
    ada = user_factory("ada")
    user_factory("bob")
    user_factory("cy")

    follow(open_page(), "bob", "ada")
    alert = inbox.next_to("ada@example.com")
    assert alert.subject == "bob is now following you"
    unsubscribe_url = alert.link("/notifications/unsubscribe/")
    assert alert.message["List-Unsubscribe"] == f"<{unsubscribe_url}>"

    mail_client = open_page()  # ada's mail client: no session on the site
    mail_client.goto(unsubscribe_url)
    expect(mail_client.get_by_role("heading", name="Stop follower emails?")).to_be_visible()
    mail_client.get_by_role("button", name="Unsubscribe").click()
    expect(mail_client.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    assert NotificationPreference.objects.get(user=ada).follower_emails is False

    follow(open_page(), "cy", "ada")
    # The follow left nothing for a worker to send: no pending alert item, no second email row...
    assert not FollowerAlertItem.objects.filter(recipient=ada, alerted_at__isnull=True).exists()
    assert OutboundEmail.objects.filter(recipients="ada@example.com").count() == 1
    # ...and nothing arrives past the end of the window, when a digest of cy's follow would have.
    window_until = FollowerAlertState.objects.get(recipient=ada).window_until
    quiet_until = max(time.time(), window_until.timestamp()) + 5  # a bound on the wait, not a measure
    while time.time() < quiet_until:
        assert inbox.unread_to("ada@example.com") == [], "an alert came after unsubscribing"
        time.sleep(0.2)
