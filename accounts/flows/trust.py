"""Trust this browser: skip the second factor in one browser for ACCOUNTS_MFA_TRUST_AGE seconds.

The browser keeps a signed cookie naming the account, a random key and the account's security
state (accounts.flows.mfa.security_state) when the trust was granted. A `TrustedBrowser` row keeps
only the key's SHA-256 hash, so the trust is listed on the settings page and ends when its row is
deleted (revoked there), when it expires, or when the password or a factor changes (the state in
the cookie no longer matches). The first factor is still asked for every log-in.
"""

import hashlib
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core import signing
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from ..conf import settings
from ..models import TrustedBrowser
from .sessions import device_describe

COOKIE_NAME = "accounts_trusted_browser"
SALT = "accounts.flows.trust"


@dataclass(frozen=True)
class TrustInfo:
    id: int
    device: str
    ip: str | None
    created_at: datetime
    expires_at: datetime
    current: bool


def _hash(key):
    return hashlib.sha256(key.encode()).hexdigest()


def _ip_or_none(ip):
    try:
        return str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        return None


def trust_grant(*, user, ip=None, user_agent=""):
    """Trust a browser of `user`; returns the cookie's value, for `trust_cookie_set`."""
    from .mfa import security_state

    key = secrets.token_urlsafe(32)
    TrustedBrowser.objects.create(
        user=user,
        key_hash=_hash(key),
        expires_at=timezone.now() + timedelta(seconds=settings.ACCOUNTS_MFA_TRUST_AGE),
        ip=_ip_or_none(ip),
        user_agent=(user_agent or "")[:400],
    )
    return signing.dumps({"u": user.pk, "k": key, "s": security_state(user)}, salt=SALT, compress=True)


def trust_cookie_set(response, value, *, secure=False):
    response.set_cookie(
        COOKIE_NAME,
        value,
        max_age=settings.ACCOUNTS_MFA_TRUST_AGE,
        secure=secure or settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def _cookie(request):
    value = request.COOKIES.get(COOKIE_NAME, "")
    if not value or len(value) > 1000:
        return None
    try:
        data = signing.loads(value, salt=SALT, max_age=settings.ACCOUNTS_MFA_TRUST_AGE)
    except signing.BadSignature:
        return None
    return data if isinstance(data, dict) else None


def trust_check(request, *, user) -> bool:
    """Whether this browser is trusted for the second factor of `user`."""
    from .mfa import security_state

    data = _cookie(request)
    if not data or data.get("u") != user.pk or not isinstance(data.get("k"), str):
        return False
    if not constant_time_compare(str(data.get("s")), security_state(user)):
        return False
    return TrustedBrowser.objects.filter(user=user, key_hash=_hash(data["k"]), expires_at__gt=timezone.now()).exists()


def trust_list(*, user, request=None):
    """The browsers `user` trusts, newest first; the one `request` comes from has current=True."""
    data = _cookie(request) if request is not None else None
    current = _hash(data["k"]) if data and isinstance(data.get("k"), str) else None
    rows = TrustedBrowser.objects.filter(user=user, expires_at__gt=timezone.now())
    return [
        TrustInfo(
            id=row.pk,
            device=device_describe(row.user_agent),
            ip=row.ip,
            created_at=row.created_at,
            expires_at=row.expires_at,
            current=row.key_hash == current,
        )
        for row in rows
    ]


def trust_revoke(*, user, trust_id):
    """Stop trusting one browser of `user`; True if there was one."""
    return TrustedBrowser.objects.filter(user=user, pk=trust_id).delete()[0] > 0


def trust_revoke_all(*, user):
    return TrustedBrowser.objects.filter(user=user).delete()[0]
