"""Each user's logged-in sessions: recorded at log-in, seen on requests, listed, ended.

A `UserSession` row stands for one logged-in browser. It is written when the user logs in
(`session_record`, from the `user_logged_in` signal), touched by `UserSessionMiddleware` at most
once per ACCOUNTS_SESSION_TOUCH_INTERVAL seconds, and deleted at log-out. Rows keep only a SHA-256
hash of the session key. To end a session, its row is deleted: the middleware logs out a session
that was recorded and whose row is gone, so this works with every session engine, signed cookies
included, without ever storing a key that could be replayed.

Every function here takes keyword arguments only and knows nothing of requests or views, so the
pages and the JSON API share them. `session_key` arguments are Django session keys in clear
(`request.session.session_key`); they are hashed here.
"""

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from ..conf import settings
from ..models import UserSession
from ..origin import user_agent_describe

# Set in the session once it has a row, so a missing row means "ended", not "never recorded".
TRACKED_SESSION_KEY = "accounts_session_tracked"
USER_AGENT_MAX_LENGTH = 400


@dataclass(frozen=True)
class SessionInfo:
    """One session as the list shows it. `id` is what `session_end` takes."""

    id: int
    device: str
    ip: str | None
    created_at: datetime
    last_seen_at: datetime
    current: bool

    @property
    def seen_just_now(self):
        """Seen within the touch interval: "now" is as precise as the record is."""
        return timezone.now() - self.last_seen_at < timedelta(seconds=settings.ACCOUNTS_SESSION_TOUCH_INTERVAL)


def session_key_hash(session_key):
    return hashlib.sha256(session_key.encode()).hexdigest()


def _ip_or_none(ip):
    try:
        return str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:  # e.g. "unknown" from a request with no REMOTE_ADDR
        return None


def session_record(*, user, session_key, ip=None, user_agent=""):
    """Record (or re-record) the session `session_key` as a session of `user`; returns the row."""
    now, ip = timezone.now(), _ip_or_none(ip)
    row, _created = UserSession.objects.update_or_create(
        key_hash=session_key_hash(session_key),
        defaults={"user": user, "ip": ip, "user_agent": user_agent[:USER_AGENT_MAX_LENGTH], "last_seen_at": now},
        create_defaults={
            "user": user,
            "ip": ip,
            "user_agent": user_agent[:USER_AGENT_MAX_LENGTH],
            "created_at": now,
            "last_seen_at": now,
        },
    )
    return row


def session_touch(*, user, session_key, ip=None, user_agent="", tracked=False, now=None):
    """Note that the session was used. False if it was ended (its row deleted, or it belongs to
    someone else): the caller must log it out. A session never recorded (`tracked` False, e.g. one
    that predates this feature) is recorded now. Writes at most once per touch interval."""
    now = now or timezone.now()
    row = UserSession.objects.filter(key_hash=session_key_hash(session_key)).first()
    if row is None:
        if tracked:
            return False
        session_record(user=user, session_key=session_key, ip=ip, user_agent=user_agent)
        return True
    if row.user_id != user.pk:
        return False
    if now - row.last_seen_at >= timedelta(seconds=settings.ACCOUNTS_SESSION_TOUCH_INTERVAL):
        UserSession.objects.filter(pk=row.pk).update(
            last_seen_at=now, ip=_ip_or_none(ip), user_agent=user_agent[:USER_AGENT_MAX_LENGTH]
        )
    return True


def session_rekey(*, user, old_key, new_key):
    """Carry a session's row over to its new key (Django cycles the key, e.g. on a password change
    that keeps the person logged in). Does nothing if the new key already has a row."""
    new_hash = session_key_hash(new_key)
    if UserSession.objects.filter(key_hash=new_hash).exists():
        return False
    return bool(UserSession.objects.filter(key_hash=session_key_hash(old_key), user=user).update(key_hash=new_hash))


def session_list(*, user, current_session_key=None, now=None):
    """The user's live sessions, most recently seen first, as `SessionInfo`; the one whose key is
    `current_session_key` has `current=True`. Sessions idle for longer than SESSION_COOKIE_AGE
    are left out: their cookie has expired."""
    now = now or timezone.now()
    current = session_key_hash(current_session_key) if current_session_key else None
    rows = UserSession.objects.filter(user=user, last_seen_at__gte=now - timedelta(seconds=settings.SESSION_COOKIE_AGE))
    return [
        SessionInfo(
            id=row.pk,
            device=device_describe(row.user_agent),
            ip=row.ip,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            current=row.key_hash == current,
        )
        for row in rows
    ]


def session_end(*, user, session_id):
    """End one of the user's sessions by its `SessionInfo.id`; True if there was one."""
    return UserSession.objects.filter(user=user, pk=session_id).delete()[0] > 0


def sessions_end_others(*, user, keep_session_key=None):
    """End every session of `user` except the one whose key is `keep_session_key` (None: end them
    all); returns how many were ended. Each is logged out at its next request."""
    others = UserSession.objects.filter(user=user)
    if keep_session_key:
        others = others.exclude(key_hash=session_key_hash(keep_session_key))
    return others.delete()[0]


def session_forget(*, session_key):
    """Drop the row of a session that logged out."""
    UserSession.objects.filter(key_hash=session_key_hash(session_key)).delete()


def sessions_prune(*, now=None):
    """Delete rows of sessions idle for longer than SESSION_COOKIE_AGE; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.SESSION_COOKIE_AGE)
    return UserSession.objects.filter(last_seen_at__lt=cutoff).delete()[0]


def device_describe(user_agent):
    """A short human name for the browser and system a User-Agent header names, e.g. "Firefox 128
    · Windows" (the one parser of accounts.origin); "Unknown device" (translated) when it names
    neither."""
    found = user_agent_describe(user_agent)
    return " · ".join(part for part in (found["browser"], found["system"]) if part) or _("Unknown device")
