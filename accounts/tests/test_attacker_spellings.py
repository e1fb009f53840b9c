"""The attacker's loop, as a test that stays: every spelling of a victim's address, on every page
and API endpoint that takes one, from many client addresses, and the mail counted where it lands,
at a real SMTP server after a real worker delivered it. No loop gets more mail to one mailbox than
the per-mailbox ceiling (NOTIFICATIONS_UNSOLICITED_PER_HOUR) allows."""

import time

import pytest

from notifications.conf import settings as notifications_settings
from notifications.models import OutboundEmail

from .support import PASSWORD

SPELLINGS = [
    "carol@example.com",
    "Carol@Example.com",
    "CAROL@EXAMPLE.COM",
    '"carol"@example.com',
    '"Carol"@example.com',
    '"\\c\\a\\r\\o\\l"@example.com',
    '"c\\arol"@example.com',
    "carol@EXAMPLE.com",
    "carol@example.com.",
    " carol@example.com ",
    '"ca\\rol"@Example.COM',
]


def attacks(spelling, n):
    """(method, path, data, json?) of every unauthenticated door that takes an address."""
    ip = f"198.51.{n // 200}.{n % 200 + 1}"  # many clients, so per-IP limits do not stop it first
    return ip, [
        ("/accounts/signup/", {"email": spelling, "username": f"att{n}", "password1": PASSWORD, "password2": PASSWORD}),
        ("/accounts/password/reset/", {"email": spelling}),
        ("/accounts/confirm/resend/", {"email": spelling}),
        ("/accounts/code/", {"email": spelling, "purpose": "login"}),
        ("/accounts/code/", {"email": spelling, "purpose": "password_reset"}),
        ("/accounts/login/code/", {"email": spelling}),
        ("json:/api/v1/browser/auth/signup", {"email": spelling, "username": f"api{n}", "password": PASSWORD}),
        ("json:/api/v1/browser/auth/password/request", {"email": spelling}),
        ("json:/api/v1/browser/auth/email/verify/resend", {"email": spelling}),
        ("json:/api/v1/browser/auth/code/request", {"email": spelling, "purpose": "login"}),
    ]


def settle(timeout=90.0):
    deadline = time.monotonic() + timeout
    while OutboundEmail.objects.filter(status__in=["queued", "sending"]).exists():
        assert time.monotonic() < deadline, "the worker did not deliver every row"
        time.sleep(0.2)


@pytest.mark.django_db(transaction=True)
def test_every_spelling_on_every_door_stays_under_the_per_mailbox_ceiling(
    worker_factory, smtp_server, client, user_factory, settings
):
    settings.ACCOUNTS_INTENTS_INLINE = True  # the request makes the outbox rows; the worker delivers
    # The flows' own per-address limits already hold the loop to a few messages a minute (3 here:
    # a sign-up notice, a reset link, a code); a ceiling below that shows the last line holds too.
    settings.NOTIFICATIONS_UNSOLICITED_PER_HOUR = 2
    user_factory("carol@example.com", username="carol")
    worker = worker_factory(smtp_url=smtp_server.url)
    answers = {}
    n = 0
    for _round in range(3):
        for spelling in SPELLINGS:
            n += 1
            ip, doors = attacks(spelling, n)
            for door, data in doors:
                if door.startswith("json:"):
                    response = client.post(door[5:], data, content_type="application/json", REMOTE_ADDR=ip)
                else:
                    response = client.post(door, data, REMOTE_ADDR=ip)
                answers.setdefault(door, set()).add(response.status_code)
    assert all(code < 500 for codes in answers.values() for code in codes), answers
    settle()

    to_victim = [m for m in smtp_server.messages if m["rcpt_tos"] == ["carol@example.com"]]
    others = [m for m in smtp_server.messages if m["rcpt_tos"] != ["carol@example.com"]]
    rows = OutboundEmail.objects.filter(recipients="carol@example.com")
    held = rows.filter(status="suppressed")
    assert others == [], [m["rcpt_tos"] for m in others]  # no spelling is a mailbox of its own
    assert len(to_victim) == notifications_settings.NOTIFICATIONS_UNSOLICITED_PER_HOUR == 2, worker.log()
    assert len(to_victim) == rows.exclude(status="suppressed").count()
    assert held.exists()  # the loop did reach the ceiling: every row past it is kept, not sent
    assert all("per-mailbox ceiling" in row.last_error for row in held)
