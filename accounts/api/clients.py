"""The two kinds of API client, behind one interface.

- browser (/api/v1/browser/...): Django's session cookie, and CSRF on every unsafe method.
- app (/api/v1/app/...): a session token in the X-Session-Token header; cookies are ignored and
  none is set, so there is nothing for CSRF to forge. The token is an AppToken row (only its hash
  is stored), revoked by deleting the row, and dead, like a browser session, once the account's
  password changes.

Either client keeps a flow in progress (a sign-up waiting for its code) in its own session.
"""

import hashlib
import secrets
from datetime import timedelta
from typing import Literal

from django.conf import settings as django_settings
from django.contrib.auth import login, logout, update_session_auth_hash
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from ninja.security import APIKeyCookie, APIKeyHeader
from ninja.utils import check_csrf

from ..conf import settings
from ..models import AppToken
from ..ratelimit import client_ip
from .problems import ApiProblem

ClientKind = Literal["browser", "app"]
TOKEN_HEADER = "X-Session-Token"
AUTH_BACKEND = "accounts.backends.EmailOrUsernameBackend"
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


class BrowserClient:
    kind = "browser"
    session_token = None

    def __init__(self, request):
        self.request = request
        if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE") and check_csrf(request) is not None:
            raise ApiProblem(
                403,
                _("The CSRF token is missing or wrong. Send the csrftoken cookie's value in the X-CSRFToken header."),
                code="csrf_failed",
            )

    @property
    def user(self):
        user = self.request.user
        return user if user.is_authenticated else None

    @property
    def state(self):
        return self.request.session

    def peek(self):
        return self.request.session

    def changed(self):
        self.request.session.modified = True

    def login(self, user):
        login(self.request, user, backend=AUTH_BACKEND)

    def logout(self):
        logout(self.request)

    def password_changed(self, user):
        update_session_auth_hash(self.request, user)


class AppClient:
    kind = "app"

    def __init__(self, request):
        self.request = request
        self.session_token = None  # a token issued by this request, for the response to carry
        self.row = _token_row(request.headers.get(TOKEN_HEADER, ""))
        if self.row is not None and timezone.now() - self.row.last_used_at > TOUCH_EVERY:
            AppToken.objects.filter(pk=self.row.pk).update(last_used_at=timezone.now())

    @property
    def user(self):
        return self.row.user if self.row is not None else None

    @property
    def state(self):
        if self.row is None:
            self.row = self._issue(user=None)
        return self.row.state

    def peek(self):
        """The state without issuing a token for it."""
        return self.row.state if self.row is not None else {}

    def changed(self):
        if self.row is not None:
            self.row.save(update_fields=["state"])

    def login(self, user):
        """A new token for the account (as login() cycles a browser's session key)."""
        if self.row is not None:
            self.row.delete()
        self.row = self._issue(user=user)

    def logout(self):
        if self.row is not None:
            self.row.delete()
        self.row = None

    def password_changed(self, user):
        self.row.auth_hash = user.get_session_auth_hash()
        self.row.save(update_fields=["auth_hash"])

    def _issue(self, *, user):
        token = secrets.token_urlsafe(32)
        self.session_token = token
        return AppToken.objects.create(
            key_hash=token_hash(token),
            user=user,
            auth_hash=user.get_session_auth_hash() if user is not None else "",
            ip=_ip_or_none(client_ip(self.request)),
            user_agent=self.request.headers.get("User-Agent", "")[:200],
        )


def _ip_or_none(ip):
    import ipaddress

    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return None


def _token_row(token):
    """The live AppToken for `token`, or None (unknown, idle too long, or its password changed)."""
    if not token or len(token) > 200:
        return None
    row = AppToken.objects.select_related("user").filter(key_hash=token_hash(token)).first()
    if row is None:
        return None
    idle = timedelta(seconds=settings.ACCOUNTS_APP_TOKEN_IDLE_TIMEOUT)
    user = row.user
    stale = timezone.now() - row.last_used_at > idle
    if user is not None and (
        not user.is_active or not constant_time_compare(row.auth_hash, user.get_session_auth_hash())
    ):
        stale = True
    if stale:
        row.delete()
        return None
    return row


def client_for(request, kind):
    """The request's client of `kind` (made once per request)."""
    client = getattr(request, "_api_client", None)
    if client is None:
        client = (AppClient if kind == "app" else BrowserClient)(request)
        request._api_client = client
    return client


def _kind(request):
    match = getattr(request, "resolver_match", None)
    return match.kwargs.get("client") if match else None


class BrowserSession(APIKeyCookie):
    """The session cookie of a browser client (CSRF is checked by BrowserClient)."""

    param_name = django_settings.SESSION_COOKIE_NAME

    def __init__(self):
        super().__init__(csrf=False)

    def authenticate(self, request, key):
        if _kind(request) != "browser":
            return None
        return client_for(request, "browser").user


class AppSessionToken(APIKeyHeader):
    """The session token of an app client, in the X-Session-Token header."""

    param_name = TOKEN_HEADER

    def authenticate(self, request, key):
        if _kind(request) != "app":
            return None
        return client_for(request, "app").user


client_auth = [AppSessionToken(), BrowserSession()]
