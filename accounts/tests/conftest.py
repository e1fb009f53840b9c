"""Fixtures of the accounts tests (the shared ones come from the root conftest's plugins)."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def clean_cache():
    """Rate-limit counters and codes live in the cache: one test's hits must not count against the next."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def no_limits(settings):
    settings.ACCOUNTS_RATE_LIMITS_ENABLED = False
