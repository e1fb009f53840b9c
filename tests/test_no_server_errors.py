"""Every page answers bad input with a 4xx or a form error, never a 500: each URL the project
serves, logged out and logged in, with garbage in the path, the query string and the body."""

import pytest
from django.test import Client, override_settings
from django.utils import timezone

PATHS = [
    "/",
    "/accounts/signup/",
    "/accounts/confirm/sent/",
    "/accounts/confirm/resend/",
    "/accounts/confirm/{junk}/",
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/password/reset/",
    "/accounts/password/reset/done/",
    "/accounts/password/reset/complete/",
    "/accounts/password/reset/{junk}/{junk}/",
    "/accounts/password/reset/MQ/set-password/",
    "/accounts/password/change/",
    "/accounts/email/change/",
    "/accounts/email/change/confirm/{junk}/",
    "/accounts/code/",
    "/accounts/login/code/",
    "/accounts/login/code/confirm/",
    "/dev/mailbox/",
    "/dev/mailbox/999999/",
    "/dev/mailbox/999999/html/",
    "/dev/emails/",
    "/dev/emails/{junk}/",
    "/dev/emails/confirm/{junk}/html/",
    "/users/",
    "/u/{junk}/",
    "/u/{junk}/follow/",
    "/u/{junk}/unfollow/",
    "/u/ada/",
    "/u/ada/follow/",
    "/u/ada/unfollow/",
    "/u/ada/followers/",
    "/u/ada/following/",
    "/settings/notifications/",
    "/notifications/unsubscribe/{junk}/",
    "/i18n/setlang/",
    "/anymail/mailgun/tracking/",
    "/anymail/amazon_ses/tracking/",
]
JUNK = ["x", "%00", "..%2F..", "a" * 600, "é漢字", "-1", "0"]
BODIES = [
    {},
    {"email": "not-an-email", "username": "a b", "password": "x", "code": "abc"},
    {"email": "a@b.c\x00", "username": "\x00", "password1": "\x00", "password2": "y", "code": "1" * 500},
    {"email": "x" * 5000 + "@example.com", "next": "https://evil.example/", "purpose": "nope"},
    {"email": ["a@example.com", "b@example.com"], "language": "xx", "follower_alerts": "maybe"},
]
QUERIES = ["", "?page=-1", "?page=abc&next=//evil.example", "?email=%00&hours=abc&q=%00"]


@pytest.fixture
def ada(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(
        username="ada", email="ada@example.com", password="correct horse battery", email_confirmed_at=timezone.now()
    )


def hammer(client):
    failures = []
    for template in PATHS:
        for junk in JUNK if "{junk}" in template else [""]:
            path = template.replace("{junk}", junk)
            for query in QUERIES:
                responses = [("GET", client.get(path + query))]
                for body in BODIES:
                    responses.append(("POST", client.post(path + query, body)))
                responses.append(("POST json", client.post(path, "{bad json", content_type="application/json")))
                responses.append(("POST deep json", client.post(path, "[" * 100_000, content_type="application/json")))
                responses.append(
                    (
                        "POST json",
                        client.post(
                            path,
                            '{"email": 5}',
                            content_type="application/json",
                            headers={"accept": "application/json"},
                        ),
                    )
                )
                failures += [
                    f"{method} {path}{query}: {r.status_code}" for method, r in responses if r.status_code >= 500
                ]
    return failures


@override_settings(ACCOUNTS_RATE_LIMITS_ENABLED=False, DEBUG=True)
def test_no_page_answers_500_to_a_stranger(ada):
    assert hammer(Client(raise_request_exception=False)) == []


@override_settings(ACCOUNTS_RATE_LIMITS_ENABLED=False, DEBUG=True)
def test_no_page_answers_500_to_a_logged_in_user(ada):
    client = Client(raise_request_exception=False)
    client.force_login(ada)
    assert hammer(client) == []
