"""notifications reaches Redis through the cache's connection or its own setting, never REDIS_URL."""

import os

from django.test import override_settings

from notifications.redis_client import redis_client as app_redis

LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def test_the_django_redis_cache_lends_its_connection(redis_cache, redis_client):
    client = app_redis()
    client.set("notifications-probe", "1")
    assert redis_client.get("notifications-probe") == b"1"


def test_its_own_setting_wins_over_a_cache_without_redis(redis_client):
    with override_settings(CACHES=LOCMEM, REDIS_URL="redis://nowhere.invalid:1/0"):
        assert app_redis() is None  # the project's REDIS_URL means nothing to the app
        with override_settings(NOTIFICATIONS_REDIS_URL=os.environ["REDIS_URL"]):
            app_redis().set("notifications-probe", "2")
    assert redis_client.get("notifications-probe") == b"2"
