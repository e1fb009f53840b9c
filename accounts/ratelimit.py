"""One cache-backed rate-limit helper for every limit (codes, resend, reset, log-in).

Limits are data in settings.ACCOUNTS_RATE_LIMITS, e.g. "code_send": "1/m/key,5/h/key,20/h/ip":
each rule is <count>/<period>/<scope>, period s|m|h|d (or a number of seconds), scope `key`
(usually the normalised address) or `ip` (the client IP, see client_ip()).

Counting is a fixed window per rule: cache.add() then cache.incr(). On django-redis both are
single Redis commands (SET NX, INCRBY), so the count holds across any number of web processes.
"""

import hashlib
import ipaddress
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _

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


def _cache_key(action, rule, value, window):
    digest = hashlib.sha256(str(value).encode()).hexdigest()[:32]
    return f"rl:{action}:{rule.scope}:{rule.count}/{rule.period}:{digest}:{window}"


def ratelimit_consume(*, action, key=None, ip=None, now=None):
    """Count one hit of `action`. Returns None if allowed, else the seconds until it would be."""
    if not settings.ACCOUNTS_RATE_LIMITS_ENABLED:
        return None
    now = time.time() if now is None else now
    retry_after = None
    for rule in rules_for(action):
        value = key if rule.scope == "key" else ip
        if value in (None, ""):
            continue
        window = int(now // rule.period)
        cache_key = _cache_key(action, rule, value, window)
        cache.add(cache_key, 0, timeout=rule.period + 5)
        try:
            hits = cache.incr(cache_key)
        except ValueError:  # expired between add and incr: this hit opens a new window
            cache.add(cache_key, 1, timeout=rule.period + 5)
            hits = 1
        if hits > rule.count:
            wait = max(1, int(rule.period - (now % rule.period)) + 1)
            retry_after = max(retry_after or 0, wait)
    return retry_after


def ratelimit_peek(*, action, key=None, ip=None, now=None):
    """Seconds until one more hit of `action` would be allowed (0 if it would be now). Counts nothing."""
    if not settings.ACCOUNTS_RATE_LIMITS_ENABLED:
        return 0
    now = time.time() if now is None else now
    wait = 0
    for rule in rules_for(action):
        value = key if rule.scope == "key" else ip
        if value in (None, ""):
            continue
        hits = cache.get(_cache_key(action, rule, value, int(now // rule.period))) or 0
        if hits >= rule.count:
            wait = max(wait, int(rule.period - (now % rule.period)) + 1)
    return wait


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
