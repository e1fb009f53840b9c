"""How often one person may follow and unfollow: a sliding window per person, shared by the pages
and the API.

settings.NOTIFICATIONS_FOLLOW_RATE_LIMIT is rules joined by commas, each <count>/<period> with the
period in s|m|h|d or a number of seconds ("30/m,300/h"); an empty value turns the limit off. It is
the rule language of accounts' limits, keyed by the person (follows need a log-in). Follow and
unfollow count in one window, so flipping between them is limited too.

Like accounts' limits, the check and the record are one Lua script over sorted sets in Redis
(redis_client.py), atomic across web processes. Without Redis the window is kept in the process.
"""

import secrets
import threading
import time
from dataclasses import dataclass

from django.utils.translation import gettext as _

from ..conf import settings
from ..errors import NotificationsError
from ..redis_client import redis_client

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
ACTION = "follow"


class FollowLimited(NotificationsError):
    """Too many follows and unfollows; `retry_after` is the seconds until one more is allowed."""

    def __init__(self, retry_after):
        super().__init__(f"follow rate limit: retry after {retry_after} s")
        self.retry_after = retry_after

    @property
    def message(self):
        """What the person is told, in the active language."""
        return _("You have followed and unfollowed too often. Please try again in %(seconds)d seconds.") % {
            "seconds": self.retry_after
        }


@dataclass(frozen=True)
class Rule:
    count: int
    period: int

    @classmethod
    def parse(cls, text):
        count, period = text.strip().split("/")
        seconds = PERIODS[period] if period in PERIODS else int(period)
        if int(count) < 1 or seconds < 1:
            raise ValueError(f"bad rate-limit rule {text!r}")
        return cls(int(count), seconds)


def rules():
    spec = settings.NOTIFICATIONS_FOLLOW_RATE_LIMIT or ""
    return [Rule.parse(part) for part in spec.split(",") if part.strip()]


# KEYS: one sorted set per rule. ARGV: now, member, then count and period per rule. Returns "0"
# when allowed (and records the hit in every set), else the seconds to wait.
_SLIDING_WINDOW = """
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local count, period = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
  if redis.call('ZCARD', key) >= count then
    local oldest = redis.call('ZRANGE', key, -count, -count, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + period - now)
  end
end
if wait > 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('EXPIRE', key, tonumber(ARGV[2 + 2 * i]) + 1)
end
return '0'
"""

_local = {}
_local_lock = threading.Lock()


def _key(rule, user_id):
    return f"notifications:rl:{ACTION}:{rule.count}/{rule.period}:{user_id}"


def _wait(checks, now):
    client = redis_client()
    if client is not None:
        args = [now, f"{now}:{secrets.token_hex(6)}"]
        for rule, _key_name in checks:
            args += [rule.count, rule.period]
        return float(client.eval(_SLIDING_WINDOW, len(checks), *[key for _rule, key in checks], *args))
    with _local_lock:
        recent = {key: [t for t in _local.get(key, []) if t > now - rule.period] for rule, key in checks}
        wait = max(
            (recent[key][-rule.count] + rule.period - now for rule, key in checks if len(recent[key]) >= rule.count),
            default=0,
        )
        if wait <= 0:
            for key, times in recent.items():
                _local[key] = [*times, now]
        return wait


def follow_limit_consume(*, user, now=None):
    """Count one follow or unfollow by `user`; raise FollowLimited when over a limit."""
    checks = [(rule, _key(rule, user.pk)) for rule in rules()]
    if not checks:
        return
    wait = _wait(checks, time.time() if now is None else now)
    if wait > 0:
        raise FollowLimited(max(1, int(wait) + (wait % 1 > 0)))
