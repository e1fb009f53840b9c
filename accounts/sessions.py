"""A person's sessions: browser sessions (Django's session store) and API app tokens, listed
together and ended together.

Browser sessions are found by reading the session store, which has no index by user; that is a
full scan, acceptable while it holds a modest number of live sessions.
"""

import hashlib

from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.models import Session
from django.utils import timezone

from .models import AppToken


def _browser_id(session_key):
    return "b-" + hashlib.sha256(session_key.encode()).hexdigest()[:24]


def _browser_sessions(user):
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        data = session.get_decoded()
        if str(data.get(SESSION_KEY)) == str(user.pk) and data.get(HASH_SESSION_KEY) == user.get_session_auth_hash():
            yield session


def session_list(*, user, session_key=None, token_id=None):
    """Every live session of `user`, the current one (this browser's key, or this app token's id)
    marked; the newest first. Ids are opaque: a browser session's key is never shown."""
    rows = [
        {
            "id": _browser_id(session.session_key),
            "kind": "browser",
            "current": session.session_key == session_key,
            "created_at": None,
            "last_used_at": None,
            "ip": None,
            "user_agent": "",
        }
        for session in _browser_sessions(user)
    ]
    for token in AppToken.objects.filter(user=user).order_by("-last_used_at"):
        rows.append(
            {
                "id": f"a-{token.pk}",
                "kind": "app",
                "current": token.pk == token_id,
                "created_at": token.created_at.isoformat(),
                "last_used_at": token.last_used_at.isoformat(),
                "ip": token.ip,
                "user_agent": token.user_agent,
            }
        )
    return rows


def session_end(*, user, session_id):
    """End one of `user`'s sessions by its listed id; False if there is none."""
    if session_id.startswith("a-") and session_id[2:].isdigit():
        return AppToken.objects.filter(user=user, pk=int(session_id[2:])).delete()[0] > 0
    for session in _browser_sessions(user):
        if _browser_id(session.session_key) == session_id:
            session.delete()
            return True
    return False


def sessions_end_others(*, user, session_key=None, token_id=None):
    """End every session of `user` but the current one; how many ended."""
    ended = AppToken.objects.filter(user=user).exclude(pk=token_id).delete()[0]
    for session in _browser_sessions(user):
        if session.session_key != session_key:
            session.delete()
            ended += 1
    return ended
