"""Helpers shared by the emailed-code tests."""

import re
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

# Mid-morning, so a test that moves an hour or two never crosses midnight by accident.
MORNING = datetime(2026, 3, 10, 9, 0, 5, tzinfo=UTC)


def code_from(outbox, address):
    """The code, read out of the latest email to `address` as a person would: the line that is
    only digits."""
    message = outbox.last_to(address)
    found = [line.strip() for line in message.body.splitlines() if re.fullmatch(r"\s*\d{4,12}\s*", line)]
    assert len(found) == 1, message.body
    return found[0]


def other_code(code):
    """A code of the same length that is certainly wrong."""
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


def make_user(email, *, username=None, confirmed=True, active=True, password="a long enough pass 1"):
    user = get_user_model().objects.create_user(
        username=username or email.split("@")[0].replace("-", "_")[:30], email=email, password=password
    )
    user.email_confirmed_at = timezone.now() if confirmed else None
    user.is_active = active
    user.save()
    return user


@pytest.fixture
def no_limits(settings):
    settings.ACCOUNTS_RATE_LIMITS_ENABLED = False
