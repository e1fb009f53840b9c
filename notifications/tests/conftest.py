"""Fixtures of the notifications tests (the shared ones come from the root conftest's plugins)."""

import pytest


@pytest.fixture
def alice(user_factory, db):
    return user_factory("alice")


@pytest.fixture
def bob(user_factory, db):
    return user_factory("bob")
