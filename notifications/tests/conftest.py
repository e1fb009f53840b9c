"""Fixtures of the notifications tests (the shared ones come from the root conftest's plugins)."""

import pytest

from notifications.follows import limits


@pytest.fixture(autouse=True)
def _follow_limits_per_test():
    """Without Redis the follow limit counts in the process: one test's follows must not count
    against the next one's users."""
    limits._local.clear()
    yield
    limits._local.clear()


@pytest.fixture
def alice(user_factory, db):
    return user_factory("alice")


@pytest.fixture
def bob(user_factory, db):
    return user_factory("bob")
