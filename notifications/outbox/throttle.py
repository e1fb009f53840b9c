"""One send rate for every worker on every machine: a token bucket in Redis.

settings.NOTIFICATIONS_MAX_RATE is the provider's quota in messages per second (0 = unlimited) and
settings.NOTIFICATIONS_RATE_BURST the bucket's size. Each delivery takes one token before it
talks to the provider. The bucket lives in one Redis hash per transport alias and is changed only
by one Lua script, which Redis runs atomically, with Redis's own clock, so workers on machines
whose clocks disagree still share one rate.

Urgent mail is served first: bulk mail may take a token only while
settings.NOTIFICATIONS_URGENT_RESERVE tokens stay in the bucket, so a code or a reset link never
queues behind a backlog of alerts for a token.

A provider that answers "too fast" slows its bucket (rate times NOTIFICATIONS_THROTTLE_SLOWDOWN for
NOTIFICATIONS_THROTTLE_COOLDOWN seconds) and empties it.

Without Redis (redis_client.py: NOTIFICATIONS_REDIS_URL or a django-redis cache; the embedded
defaults have neither) the bucket is kept in each worker process, so the rate holds per process.
"""

import logging
import threading
import time

from ..conf import settings
from ..redis_client import redis_client

logger = logging.getLogger(__name__)

# KEYS[1]: the bucket hash.  ARGV: op ("take" | "slow"), rate, burst, reserve, slowdown, cooldown.
# "take" returns "0" when a token was taken, else the seconds until one may be (as a string:
# Redis would truncate a Lua number to an integer).
BUCKET_SCRIPT = """
local key = KEYS[1]
local op, rate, burst = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local reserve, slowdown, cooldown = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', key, 'tokens', 'ts', 'slow_until')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
local slow_until = tonumber(state[3]) or 0
if now < slow_until then rate = rate * slowdown end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if op == 'slow' then
  tokens = 0
  slow_until = now + cooldown
elseif tokens >= 1 + reserve then
  tokens = tokens - 1
else
  wait = (1 + reserve - tokens) / rate
end
redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now), 'slow_until', tostring(slow_until))
redis.call('PEXPIRE', key, math.ceil((burst / rate + cooldown + 60) * 1000))
return tostring(wait)
"""

_scripts = {}
_local = {}
_local_lock = threading.Lock()


class LocalBucket:
    """The same bucket, for one process (no Redis)."""

    def __init__(self):
        self.tokens = None
        self.ts = time.monotonic()
        self.slow_until = 0.0

    def run(self, op, rate, burst, reserve, slowdown, cooldown):
        now = time.monotonic()
        if now < self.slow_until:
            rate *= slowdown
        tokens = burst if self.tokens is None else self.tokens
        tokens = min(burst, tokens + max(0.0, now - self.ts) * rate)
        wait = 0.0
        if op == "slow":
            tokens, self.slow_until = 0.0, now + cooldown
        elif tokens >= 1 + reserve:
            tokens -= 1
        else:
            wait = (1 + reserve - tokens) / rate
        self.tokens, self.ts = tokens, now
        return wait


def _bucket_script(client):
    # One registered script per client (its SHA is cached on the Script object).
    script = _scripts.get(id(client))
    if script is None or script.registered_client is not client:
        script = _scripts[id(client)] = client.register_script(BUCKET_SCRIPT)
    return script


def _key(alias):
    return f"mailsite:notifications:rate:{alias}"


def _run(alias, op, *, urgent=True):
    rate = float(settings.NOTIFICATIONS_MAX_RATE)
    burst = max(1, int(settings.NOTIFICATIONS_RATE_BURST))
    reserve = 0 if urgent else min(max(0, int(settings.NOTIFICATIONS_URGENT_RESERVE)), burst - 1)
    args = (
        op,
        rate,
        burst,
        reserve,
        settings.NOTIFICATIONS_THROTTLE_SLOWDOWN,
        settings.NOTIFICATIONS_THROTTLE_COOLDOWN,
    )
    client = redis_client()
    if client is not None:
        try:
            return float(_bucket_script(client)(keys=[_key(alias)], args=list(args)))
        except Exception as error:  # Redis unreachable: keep sending, limited per process
            logger.warning("outbox: rate bucket in Redis unavailable (%s); limiting this process only", error)
    with _local_lock:
        return _local.setdefault(alias, LocalBucket()).run(*args)


def rate_limited():
    return float(settings.NOTIFICATIONS_MAX_RATE or 0) > 0


def token_try(alias, *, urgent=True):
    """Take a token now: 0.0 if taken, else the seconds to wait before asking again."""
    if not rate_limited():
        return 0.0
    return _run(alias, "take", urgent=urgent)


def token_wait(alias, *, urgent=True, max_wait=None, sleep=time.sleep):
    """Take a token, waiting up to `max_wait` seconds (NOTIFICATIONS_RATE_MAX_WAIT). Returns 0.0
    when taken, or the seconds still to wait when the caller should rather come back later."""
    max_wait = settings.NOTIFICATIONS_RATE_MAX_WAIT if max_wait is None else max_wait
    deadline = time.monotonic() + max_wait
    while True:
        wait = token_try(alias, urgent=urgent)
        if not wait:
            return 0.0
        left = deadline - time.monotonic()
        if wait > left:
            return wait
        sleep(wait)


def bucket_slow(alias):
    """The provider said "too fast": empty the bucket and lower its rate for a while."""
    if rate_limited():
        logger.info("outbox: %s is throttling us; slowing the send rate", alias)
        _run(alias, "slow")


def bucket_reset(alias=None):
    """Forget bucket state (tests, or after changing the rate)."""
    with _local_lock:
        if alias:
            _local.pop(alias, None)
        else:
            _local.clear()
    client = redis_client()
    if client is not None:
        keys = [_key(alias)] if alias else list(client.scan_iter(_key("*")))
        if keys:
            client.delete(*keys)
