"""Second factors: which ones an account has, the log-in step that waits for one, "trust this
browser", and re-authentication before sensitive changes ("sudo mode").

Every log-in door (the password page, the emailed-code page, the API's log-ins) calls
`mfa_login_start` instead of logging in. When the account has a second factor, nothing is logged
in: the client (browser session, or an API app token with no user) holds a *pending* log-in, which
names the account and its security state. A factor's flow (accounts.flows.totp,
accounts.flows.recovery_codes, passkeys) proves the factor and calls `mfa_login_complete`. The
pending log-in dies after ACCOUNTS_MFA_LOGIN_TIMEOUT seconds, when the client starts another
log-in, and when the account's security state changes (its password, or a factor added or
removed), which a password reset or a factor removed in another browser does.

A *client* here is what `request` stands for: the API's client when the request came through the
JSON API (`request._api_client`, set by accounts.api.clients.client_for), else the browser's
session. Both have `state` (a dict kept with the client), `peek()`, `changed()` and `login(user)`.

Plugging in another factor (passkeys):
- add its (method, check) pair to FACTORS, so `second_factor_methods` and `reauth_methods` list it;
- on the log-in step, prove it for `mfa_login_pending(request)`'s user, then call
  `mfa_login_complete(request, method="passkey")`;
- when a logged-in person proves it, call `reauth_record(request, method="passkey")`;
- keep adding and removing it behind a fresh proof (pages: accounts.views.mfa.reauth_required;
  API: accounts.api.mfa.reauth_require), and tell the owner with
  accounts.flows.notices.mfa_notify(event="factor_added" or "factor_removed", factor="passkey").
`security_state` already covers passkeys: adding or removing one ends pending log-ins and trusts.
"""

import time

from django.contrib.auth import get_user_model
from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..conf import settings
from ..errors import AccountsError
from ..models import Authenticator, Passkey

AUTH_BACKEND = "accounts.backends.EmailOrUsernameBackend"
PENDING_KEY = "accounts_mfa_pending"
REAUTH_KEY = "accounts_reauth"
STATE_SALT = "accounts.flows.mfa.security_state"



def _has_totp(user):
    return Authenticator.objects.filter(user=user, kind=Authenticator.Kind.TOTP).exists()


# The factors that make an account need a second factor, as (method, does `user` have it?).
# Recovery codes are not one of them: they stand in for a lost factor. A new kind of factor adds
# its pair, e.g. ("passkey", lambda user: Passkey.objects.filter(user=user).exists()).
FACTORS = [("totp", _has_totp), ("passkey", lambda user: Passkey.objects.filter(user=user).exists())]

METHOD_NAMES = {
    "totp": gettext_lazy("a code from your authenticator app"),
    "recovery_code": gettext_lazy("a recovery code"),
    "password": gettext_lazy("your password"),
    "code": gettext_lazy("a code we email you"),
    "passkey": gettext_lazy("a passkey"),
}


class MfaError(AccountsError):
    """A second-factor or re-authentication step that cannot go on; `code` says why."""

    def __init__(self, message, *, code="invalid"):
        super().__init__(message)
        self.message, self.code = str(message), code


class MfaLimited(MfaError):
    def __init__(self, retry_after):
        message = _("Too many attempts. Please try again in %(seconds)d seconds.") % {"seconds": retry_after}
        super().__init__(message, code="rate_limited")
        self.retry_after = retry_after


# ------------------------------------------------------------------------------------------------
# Which factors
# ------------------------------------------------------------------------------------------------
def second_factor_methods(user) -> list[str]:
    """The ways `user` can pass the second factor of a log-in, e.g. ["totp", "recovery_code"];
    [] when the account has no second factor (it logs in with its first). "recovery_code" is listed
    only beside a real factor and while an unused code is left. A new kind of factor adds its
    (method, check) pair to FACTORS; the log-in step, re-authentication and the API then offer it."""
    if user is None or not user.pk:
        return []
    methods = [method for method, has_it in FACTORS if has_it(user)]
    if methods:
        from .recovery_codes import recovery_codes_left

        if recovery_codes_left(user=user):
            methods.append("recovery_code")
    return methods


def security_state(user) -> str:
    """A digest of what proves who `user` is: the password (its hash) and the set of factors. A
    pending log-in and a trusted browser are bound to it, so a password change or reset, or a
    factor added, removed or replaced, ends them. Using a factor does not change it."""
    factors = list(Authenticator.objects.filter(user=user).order_by("pk").values_list("pk", flat=True))
    passkeys = list(Passkey.objects.filter(user=user).order_by("pk").values_list("pk", flat=True))
    if passkeys:  # a passkey added or removed changes the state too
        factors.append(("passkeys", passkeys))
    return salted_hmac(STATE_SALT, f"{user.pk}:{user.password}:{factors}", algorithm="sha256").hexdigest()


def mfa_enabled(user) -> bool:
    return bool(second_factor_methods(user))


def factors_remove_all(*, user) -> list[str]:
    """Remove every authenticator of `user` (app and recovery codes) and end every browser's trust,
    e.g. for staff helping someone who lost their device. Returns the names of what was removed."""
    from ..models import TrustedBrowser

    rows = list(Authenticator.objects.filter(user=user))
    Authenticator.objects.filter(pk__in=[row.pk for row in rows]).delete()
    TrustedBrowser.objects.filter(user=user).delete()
    return [str(row.get_kind_display()) for row in rows]


# ------------------------------------------------------------------------------------------------
# The client a request stands for
# ------------------------------------------------------------------------------------------------
class SessionClient:
    """A browser's session, with the interface of the API's clients (accounts.api.clients)."""

    kind = "browser"

    def __init__(self, request):
        self.request = request

    @property
    def state(self):
        return self.request.session

    def peek(self):
        return self.request.session

    def changed(self):
        self.request.session.modified = True

    def login(self, user):
        django_login(self.request, user, backend=AUTH_BACKEND)

    def logout(self):
        django_logout(self.request)


def request_client(request):
    return getattr(request, "_api_client", None) or SessionClient(request)


# ------------------------------------------------------------------------------------------------
# The log-in step
# ------------------------------------------------------------------------------------------------
def mfa_login_start(request, *, user, next_url="") -> bool:
    """Log `user` in, whose first factor (password or emailed code) was just proven, unless the
    account has a second factor and this browser is not trusted for it. Then nothing is logged in,
    the log-in waits for the second factor (`mfa_login_pending`), and the answer is True. Any
    log-in that waited before in this client ends here."""
    client = request_client(request)
    if client.peek().get(PENDING_KEY):
        client.state.pop(PENDING_KEY, None)
        client.changed()
    if not mfa_enabled(user):
        _login(request, client, user, method="password_or_code")
        return False
    from .trust import trust_check

    if trust_check(request, user=user):
        _login(request, client, user, method="trusted_browser")
        return False
    current = _client_user(request, client)
    if current is not None and current.pk != user.pk:
        client.logout()  # as login() does for another account: this client is no longer theirs
    client.state[PENDING_KEY] = {
        "user": user.pk,
        "at": time.time(),
        "state": security_state(user),
        "next": next_url or "",
    }
    client.changed()
    return True


def mfa_login_pending(request):
    """The user whose log-in waits in this client for its second factor, or None: none waits, or
    the wait ended (expired, the account's password or factors changed, the account is inactive).
    A dead wait is dropped from the client."""
    client = request_client(request)
    pending = client.peek().get(PENDING_KEY)
    if not pending:
        return None
    user = None
    if isinstance(pending, dict) and time.time() - float(pending.get("at", 0)) <= settings.ACCOUNTS_MFA_LOGIN_TIMEOUT:
        user = get_user_model()._default_manager.filter(pk=pending.get("user"), is_active=True).first()
        if user is not None and not constant_time_compare(str(pending.get("state")), security_state(user)):
            user = None
    if user is None:
        client.state.pop(PENDING_KEY, None)
        client.changed()
    return user


def mfa_login_next(request) -> str:
    """Where the waiting log-in was going (the `next` the log-in page had), or ""."""
    pending = request_client(request).peek().get(PENDING_KEY)
    return pending.get("next", "") if isinstance(pending, dict) else ""


def mfa_login_complete(request, *, method):
    """Log in the user whose log-in waits in this client, now that `method` (one of
    `second_factor_methods(user)`, e.g. "totp" or "passkey") proved the second factor; returns the
    user. The factor's own flow must have checked the proof *for that user*
    (`mfa_login_pending(request)`) before calling this. Counts as a fresh re-authentication by
    `method`. Raises MfaError (code "expired") when no log-in waits any more."""
    user = mfa_login_pending(request)
    if user is None:
        raise MfaError(_("The log-in timed out or was replaced by another. Please log in again."), code="expired")
    client = request_client(request)
    client.state.pop(PENDING_KEY, None)
    client.changed()
    _login(request, client, user, method=method)
    return user


def mfa_login_cancel(request):
    client = request_client(request)
    if client.peek().get(PENDING_KEY):
        client.state.pop(PENDING_KEY, None)
        client.changed()


def _login(request, client, user, *, method):
    client.login(user)
    reauth_record(request, method=method, user=user)


# ------------------------------------------------------------------------------------------------
# Re-authentication ("sudo mode")
# ------------------------------------------------------------------------------------------------
def reauth_record(request, *, method, user=None):
    """Note that the logged-in person just proved who they are by `method` ("password", "totp",
    "code", "passkey", ...): for ACCOUNTS_REAUTH_TIMEOUT seconds the client may change the address,
    the password or a factor, delete the account and end other sessions. A log-in counts too.
    `user` defaults to the client's logged-in user."""
    client = request_client(request)
    user = user or _client_user(request, client)
    client.state[REAUTH_KEY] = {"user": user.pk if user else None, "at": time.time(), "method": method}
    client.changed()


def reauth_fresh(request) -> bool:
    """Whether the client's logged-in person proved who they are within ACCOUNTS_REAUTH_TIMEOUT."""
    client = request_client(request)
    user = _client_user(request, client)
    proof = client.peek().get(REAUTH_KEY)
    if user is None or not isinstance(proof, dict) or proof.get("user") != user.pk:
        return False
    return time.time() - float(proof.get("at", 0)) <= settings.ACCOUNTS_REAUTH_TIMEOUT


def reauth_methods(user) -> list[str]:
    """The ways `user` can re-authenticate: "password" (or, for an account without a usable
    password, "code": a code emailed to the account's address), then each factor's method."""
    methods = ["password" if user.has_usable_password() else "code"]
    return methods + [m for m in second_factor_methods(user) if m != "recovery_code"]


def _client_user(request, client):
    user = getattr(client, "user", None)
    if user is None and client.kind == "browser":
        user = request.user if request.user.is_authenticated else None
    return user
