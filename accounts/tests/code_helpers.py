"""Helpers shared by the emailed-code tests."""

import re
from datetime import UTC, datetime

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
