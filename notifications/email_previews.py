"""Sample data for the previews of follower emails (/dev/emails/, see dev/previews.py).

The contexts have the shape follows._email gives them; the recipient is an unsaved user and the
unsubscribe token is not real.
"""

from django.contrib.auth import get_user_model
from django.urls import reverse

from .conf import settings
from .dev.previews import email_preview

PEOPLE = [("grace", "Grace Hopper"), ("alan", "Alan Turing"), ("linus", ""), ("ken", "Ken Thompson")]


def _url(name, *args):
    return settings.SITE_URL + reverse(name, args=args)


def _follower_context(count):
    recipient = get_user_model()(username="ada", email="ada@example.com")
    named = PEOPLE[: min(count, settings.NOTIFICATIONS_FOLLOW_DIGEST_NAMES)]
    people = [
        {"username": username, "name": name or username, "url": _url("notifications:profile", username)}
        for username, name in named
    ]
    return {
        "recipient": recipient,
        "followers": people,
        "names": [person["name"] for person in people],
        "count": count,
        "others": count - len(people),
        "followers_url": _url("notifications:followers", recipient.username),
        "settings_url": _url("notifications:settings"),
        "unsubscribe_url": _url("notifications:unsubscribe", "preview-only-this-link-does-nothing"),
    }


@email_preview(template="follower_alert")
def follower_alert():
    """One new follower, the first in the recipient's alert window."""
    return _follower_context(1)


@email_preview(template="follower_digest", name="follower_digest_few")
def follower_digest_few():
    """The digest when the window closes with two new followers: everyone is named."""
    return _follower_context(2)


@email_preview(template="follower_digest", name="follower_digest_many")
def follower_digest_many():
    """The digest with more followers than it names ("and 9 others")."""
    return _follower_context(12)
