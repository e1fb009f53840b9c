"""Fixtures of the accounts tests (the shared ones come from the root conftest's plugins)."""

import os

import pytest
from django.core.cache import cache

from testing import ownership


@pytest.fixture(autouse=True)
def clean_cache():
    """Rate-limit counters and codes live in the cache: one test's hits must not count against the next."""
    cache.clear()
    yield
    cache.clear()
    ownership.redis_mark(os.environ.get("REDIS_URL", ""))  # FLUSHDB took the tests' mark with it


@pytest.fixture
def no_limits(settings):
    settings.ACCOUNTS_RATE_LIMITS_ENABLED = False


@pytest.fixture(autouse=True)
def intents_inline(settings):
    """Most tests here are about what a request leads to, not how it gets to the worker: carry
    each recorded request out at once. The tests of that path (test_intents*.py) turn this off."""
    settings.ACCOUNTS_INTENTS_INLINE = True
