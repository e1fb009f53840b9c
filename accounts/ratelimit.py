"""One cache-backed rate-limit helper for every limit (codes, resend, reset, log-in).

Limits are data in settings.ACCOUNTS_RATE_LIMITS, e.g. "code_send": "1/m/key,5/h/key,20/h/ip":
each rule is <count>/<period>/<scope>, period s|m|h|d (or a number of seconds), scope `key`
(usually the normalised address) or `ip` (the client IP, see client_ip()).

Counting is a sliding window: each rule keeps the times of the hits it allowed in its period, and a
hit is allowed only if every rule of the action has room; then it is recorded in all of them. So
"1/m" never lets two through 59 seconds apart, whatever the clock says about minute boundaries.
On django-redis, the check and the record are one Lua script over sorted sets, atomic across any
number of web processes. Other caches (the embedded file cache of `make run`) use the same logic
through get/set, which is exact in one process and close enough for development.

When the store cannot be reached, every function here raises RateLimitUnavailable: the limits
fail closed, and nothing the caller does after the check happens.
"""

import hashlib
import ipaddress
import secrets
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from .conf import settings
from .errors import RateLimitUnavailable
from .metrics import RATELIMIT_REFUSALS

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rule:
    count: int
    period: int
    scope: str

    @classmethod
    def parse(cls, text):
        count, period, scope = text.strip().split("/")
        seconds = PERIODS[period] if period in PERIODS else int(period)
        if scope not in ("key", "ip") or int(count) < 1 or seconds < 1:
            raise ValueError(f"bad rate-limit rule {text!r}")
        return cls(int(count), seconds, scope)


def rules_for(action):
    spec = settings.ACCOUNTS_RATE_LIMITS.get(action, "")
    return [Rule.parse(part) for part in spec.split(",") if part.strip()]


def client_ip(request):
    """The client's address: REMOTE_ADDR, unless that is a trusted proxy (ACCOUNTS_TRUSTED_PROXIES,
    a list of networks), in which case the right-most X-Forwarded-For entry that is not one."""
    trusted = [ipaddress.ip_network(net, strict=False) for net in settings.ACCOUNTS_TRUSTED_PROXIES]
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"

    def is_trusted(addr):
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return False
        return any(ip in net for net in trusted)

    if not is_trusted(remote):
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    for addr in reversed(forwarded):
        if not is_trusted(addr):
            try:
                return str(ipaddress.ip_address(addr))
            except ValueError:
                return remote  # a garbled header from behind our own proxy: fall back
    return remote


def client_network(ip):
    """What per-IP limits count a client as: an IPv4 address itself (an IPv4-mapped IPv6 one is
    that IPv4 address), an IPv6 address by its ACCOUNTS_IPV6_PREFIX network, since one home line
    or cloud VM holds a whole /64. Text that is no address is kept as it is."""
    try:
        address = ipaddress.ip_address(str(ip).strip())
    except ValueError:
        return ip
    if address.version == 6 and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/{int(settings.ACCOUNTS_IPV6_PREFIX)}", strict=False))
    return str(address)


def _cache_key(action, rule, value):
    digest = hashlib.sha256(str(value).encode()).hexdigest()[:32]
    return f"rl:{action}:{rule.scope}:{rule.count}/{rule.period}:{digest}"


# KEYS: one sorted set per rule. ARGV: now, record (1/0), member, then count and period per rule.
# Returns 0 when allowed (and, if record, records the hit in every set), else the seconds to wait.
_SLIDING_WINDOW = """
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(ARGV[2 + 2 * i])
  local period = tonumber(ARGV[3 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
  if redis.call('ZCARD', key) >= count then
    local oldest = redis.call('ZRANGE', key, -count, -count, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + period - now)
  end
end
if wait > 0 or ARGV[2] == '0' then return tostring(wait) end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('EXPIRE', key, math.ceil(tonumber(ARGV[3 + 2 * i])) + 1)
end
return '0'
"""


def _checks(action, key, ip):
    for rule in rules_for(action):
        value = key if rule.scope == "key" else (client_network(ip) if ip not in (None, "") else ip)
        if value not in (None, ""):
            yield rule, _cache_key(action, rule, value)


def _redis():
    try:
        from django_redis import get_redis_connection
    except ImportError:  # pragma: no cover - django-redis is a requirement
        return None
    if "django_redis" not in settings.CACHES["default"]["BACKEND"]:
        return None
    return get_redis_connection("default")


def unreachable_errors():
    """What the cache raises when its server is down or does not answer in time."""
    try:
        from django_redis.exceptions import ConnectionInterrupted
        from redis.exceptions import ConnectionError, TimeoutError
    except ImportError:  # pragma: no cover - django-redis is a requirement
        return ()
    return (ConnectionError, TimeoutError, ConnectionInterrupted)


def _window(checks, now, record):
    """Seconds to wait (0: allowed). When allowed and `record`, the hit is counted in every rule."""
    if not checks:
        return 0
    try:
        return _count(checks, now, record)
    except unreachable_errors() as error:
        raise RateLimitUnavailable(f"the rate-limit store cannot be reached: {error}") from error


def _count(checks, now, record):
    client = _redis()
    if client is not None:
        keys = [cache.make_key(key) for _rule, key in checks]
        args = [now, int(record), f"{now}:{secrets.token_hex(6)}"]
        for rule, _key in checks:
            args += [rule.count, rule.period]
        return float(client.eval(_SLIDING_WINDOW, len(keys), *keys, *args))
    wait, hits = 0.0, {}
    for rule, key in checks:
        recent = [t for t in cache.get(key, []) if t > now - rule.period]
        hits[key] = (rule, recent)
        if len(recent) >= rule.count:
            wait = max(wait, recent[-rule.count] + rule.period - now)
    if wait == 0 and record:
        for key, (rule, recent) in hits.items():
            cache.set(key, [*recent, now], timeout=rule.period + 1)
    return wait


def _seconds(wait):
    return max(1, int(wait) + (wait % 1 > 0)) if wait > 0 else 0


def ratelimit_consume(*, action, key=None, ip=None, now=None):
    """Count one hit of `action`. Returns None if allowed, else the seconds until it would be."""
    if not settings.ACCOUNTS_RATE_LIMITS_ENABLED:
        return None
    now = time.time() if now is None else now
    wait = _seconds(_window(list(_checks(action, key, ip)), now, record=True)) or None
    if wait:
        RATELIMIT_REFUSALS.labels(action).inc()
    return wait


def ratelimit_peek(*, action, key=None, ip=None, now=None):
    """Seconds until one more hit of `action` would be allowed (0 if it would be now). Counts nothing.
    Without `key`, only the IP rules are asked; without `ip`, only the key rules."""
    if not settings.ACCOUNTS_RATE_LIMITS_ENABLED:
        return 0
    now = time.time() if now is None else now
    return _seconds(_window(list(_checks(action, key, ip)), now, record=False))


def ratelimit_response(request, retry_after, message=None):
    """429 with Retry-After, as JSON for JSON callers and as a page otherwise."""
    message = message or _("Too many attempts. Please try again in %(seconds)d seconds.") % {"seconds": retry_after}
    if "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse({"error": "rate_limited", "detail": message, "retry_after": retry_after}, status=429)
    else:
        from django.template.loader import render_to_string

        html = render_to_string("429.html", {"message": message, "retry_after": retry_after}, request=request)
        response = HttpResponse(html, status=429)
    response["Retry-After"] = str(retry_after)
    return response
