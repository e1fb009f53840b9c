"""Who is hammering the code endpoints: every request to send or check a code, allowed or refused,
counted per address and per client IP in hourly Redis sorted sets (kept two days).

The audit rows only hold requests that got past the rate limits; these counters also see the ones
that did not, which is what an operator wants to know during an attack. Without django-redis (the
embedded cache in development) nothing is counted and the admin shows the audit rows alone.
"""

import logging
from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger(__name__)

KEEP = 2 * 24 * 3600
ACTIONS = ("send", "verify")


def _redis():
    try:
        from django_redis import get_redis_connection

        return get_redis_connection("default")
    except (ImportError, NotImplementedError):
        return None


def _key(action, scope, hour):
    return cache.make_key(f"code:activity:{action}:{scope}:{hour:%Y%m%d%H}")


def activity_note(*, action, email, ip, now=None):
    """Count one request. Never raises: counting must not break the request it counts."""
    client = _redis()
    if client is None:
        return
    hour = now or timezone.now()
    try:
        with client.pipeline(transaction=False) as pipe:
            for scope, member in (("email", email), ("ip", ip)):
                if member:
                    pipe.zincrby(_key(action, scope, hour), 1, member)
                    pipe.expire(_key(action, scope, hour), KEEP)
            pipe.execute()
    except Exception as error:  # Redis trouble shows up elsewhere; here it only costs a count
        logger.warning("code activity: not counted: %s", error)


def activity_top(*, action, scope, hours=1, limit=20, now=None):
    """[(member, requests)] with the most requests in the hourly buckets that cover the last
    `hours` hours (so the current clock hour and `hours` before it)."""
    client = _redis()
    if client is None:
        return []
    now = now or timezone.now()
    keys = [_key(action, scope, now - timedelta(hours=n)) for n in range(hours + 1)]
    totals = {}
    try:
        for key in keys:
            for member, score in client.zrevrange(key, 0, 999, withscores=True):
                name = member.decode() if isinstance(member, bytes) else member
                totals[name] = totals.get(name, 0) + int(score)
    except Exception as error:
        logger.warning("code activity: cannot read: %s", error)
        return []
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:limit]
