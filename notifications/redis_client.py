"""The one way notifications reaches Redis: NOTIFICATIONS_REDIS_URL when set, else the default
cache's own connection when the cache is django-redis, else None (callers then keep their state in
the process). The app never reads a project's REDIS_URL."""

import threading

from django.core.exceptions import ImproperlyConfigured

from .conf import settings

MISSING = "NOTIFICATIONS_REDIS_URL is set, but the redis package is not installed: pip install 'mailsite-apps[redis]'"

_clients = {}
_lock = threading.Lock()


def redis_module():
    """The redis package (the `redis` extra), which only a project that names a Redis needs."""
    try:
        import redis
    except ImportError as error:
        raise ImproperlyConfigured(MISSING) from error
    return redis


def redis_client():
    url = settings.NOTIFICATIONS_REDIS_URL
    if url:
        with _lock:
            if url not in _clients:
                redis = redis_module()
                _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
            return _clients[url]
    if "django_redis" in settings.CACHES.get("default", {}).get("BACKEND", ""):
        from django_redis import get_redis_connection  # django-redis is there: the cache uses it

        return get_redis_connection("default")
    return None
