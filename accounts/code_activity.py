"""Who is hammering the code endpoints: requests to send or check a code, counted per address and
per client IP in hourly Redis sorted sets (kept two days).

The audit rows only hold requests that got past every rate limit; these counters also see the ones
a per-address limit refused, which is what an operator wants to know during an attack. Three
things keep an attacker from filling Redis through them:
  - a request is counted only if its client IP is within the action's IP limit, so one client
    adds no more members than that limit lets through;
  - an address is counted under a keyed hash (activity_member), never in clear;
  - each hourly set keeps only its ACCOUNTS_CODE_ACTIVITY_MAX busiest members.
Without django-redis (the embedded cache in development) nothing is counted and the admin shows
the audit rows alone.
"""

import logging
from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .conf import settings
from .ratelimit import client_network, ratelimit_peek

logger = logging.getLogger(__name__)

KEEP = 2 * 24 * 3600
ACTIONS = ("send", "verify")
SALT = "accounts.code_activity"


def _redis():
    try:
        from django_redis import get_redis_connection

        return get_redis_connection("default")
    except (ImportError, NotImplementedError):
        return None


def activity_counted():
    """True when the hits are counted: the default cache is django-redis."""
    return _redis() is not None


def _key(action, scope, hour):
    return cache.make_key(f"code:activity:{action}:{scope}:{hour:%Y%m%d%H}")


def _cap():
    return settings.ACCOUNTS_CODE_ACTIVITY_MAX


def activity_member(email):
    """What an address is counted as: a keyed hash of it, so Redis never holds the address."""
    return "h:" + salted_hmac(SALT, email, algorithm="sha256").hexdigest()[:24]


def activity_note(*, action, email, ip, now=None):
    """Count one request, unless its client IP is over the action's IP limit. Call it before the
    rate limit consumes the hit. Never raises: counting must not break the request it counts."""
    client = _redis()
    if client is None:
        return
    hour = now or timezone.now()
    cap = _cap()
    try:
        if ratelimit_peek(action=f"code_{action}", ip=ip):
            return
        with client.pipeline(transaction=False) as pipe:
            for scope, member in (("email", email and activity_member(email)), ("ip", ip and client_network(ip))):
                if member:
                    key = _key(action, scope, hour)
                    pipe.zincrby(key, 1, member)
                    pipe.zremrangebyrank(key, 0, -cap - 1)  # keep the `cap` busiest
                    pipe.expire(key, KEEP)
            pipe.execute()
    except Exception as error:  # Redis trouble shows up elsewhere; here it only costs a count
        logger.warning("code activity: not counted: %s", error)


def activity_top(*, action, scope, hours=1, limit=20, now=None, addresses=()):
    """[(member, requests)] with the most requests in the hourly buckets that cover the last
    `hours` hours (so the current clock hour and `hours` before it). Addresses are counted as
    their hash; those in `addresses` are shown as the address again, the others as the hash."""
    client = _redis()
    if client is None:
        return []
    now = now or timezone.now()
    keys = [_key(action, scope, now - timedelta(hours=n)) for n in range(hours + 1)]
    names = {activity_member(address): address for address in addresses} if scope == "email" else {}
    totals = {}
    try:
        for key in keys:
            for member, score in client.zrevrange(key, 0, 999, withscores=True):
                name = member.decode() if isinstance(member, bytes) else member
                name = names.get(name, name)
                totals[name] = totals.get(name, 0) + int(score)
    except Exception as error:
        logger.warning("code activity: cannot read: %s", error)
        return []
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:limit]


def activity_of(*, action, email, hours=1, now=None):
    """How many requests for `email` were counted in the last `hours` hours (as activity_top)."""
    client = _redis()
    if client is None:
        return 0
    now = now or timezone.now()
    member = activity_member(email)
    try:
        scores = [client.zscore(_key(action, "email", now - timedelta(hours=n)), member) for n in range(hours + 1)]
    except Exception as error:
        logger.warning("code activity: cannot read: %s", error)
        return 0
    return sum(int(score or 0) for score in scores)
