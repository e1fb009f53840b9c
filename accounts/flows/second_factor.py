"""The second-factor step of a log-in and the proofs of re-authentication, by the codes a person
types: a code from their authenticator app, a recovery code, their password, or (for an account
without a password) a code emailed to it. The pages and the API both go through here; passkeys
prove themselves in their own flow and call accounts.flows.mfa's functions directly."""

from django.utils.translation import gettext as _

from ..ratelimit import ratelimit_consume
from .code_verification import CodeError, CodeLimited, Purpose, code_consume, code_send
from .mfa import MfaError, MfaLimited, mfa_login_complete, mfa_login_pending, reauth_methods, reauth_record
from .notices import mfa_notify
from .recovery_codes import recovery_code_use
from .totp import totp_code_clean, totp_verify
from .trust import trust_grant


def second_factor_check(*, user, code, ip=None, user_agent="") -> str:
    """Which method `code` proves for `user`: "totp" (six digits from the authenticator app) or
    "recovery_code". Raises MfaError when it proves neither, MfaLimited over the limit."""
    if totp_code_clean(code):
        if totp_verify(user=user, code=code, ip=ip):
            return "totp"
    elif recovery_code_use(user=user, code=code, ip=ip, user_agent=user_agent):
        return "recovery_code"
    raise MfaError(_("That code is not right, or was already used. Type the newest code from your app."))


def mfa_login_by_code(request, *, code, trust=False, ip=None, user_agent=""):
    """Finish the log-in waiting in this client with a code from the authenticator app or a
    recovery code. Returns (user, trust cookie value or None). Raises MfaError ("expired" when no
    log-in waits) or MfaLimited."""
    user = mfa_login_pending(request)
    if user is None:
        raise MfaError(_("The log-in timed out or was replaced by another. Please log in again."), code="expired")
    method = second_factor_check(user=user, code=code, ip=ip, user_agent=user_agent)
    cookie = None
    if trust:
        cookie = trust_grant(user=user, ip=ip, user_agent=user_agent)
        mfa_notify(user=user, event="browser_trusted", ip=ip, user_agent=user_agent)
    return mfa_login_complete(request, method=method), cookie


def reauth_code_send(*, user, ip=None, language=None):
    """Email a code for re-authentication to the account's own address (for accounts without a
    password). Raises CodeError / CodeLimited."""
    return code_send(email=user.email, purpose=Purpose.LOGIN, ip=ip, language=language or user.language)


def reauth_by_proof(request, *, user, password="", code="", ip=None, user_agent=""):
    """Re-authenticate the logged-in `user` by their password, or by a code: from the authenticator
    app, or (for an account without a password) emailed. Returns the method. Raises MfaError
    (wrong) or MfaLimited."""
    wait = ratelimit_consume(action="reauth", key=f"user:{user.pk}", ip=ip)
    if wait:
        raise MfaLimited(wait)
    methods = reauth_methods(user)
    method = None
    if password and "password" in methods:
        if user.check_password(password):
            method = "password"
        else:
            raise MfaError(_("Your password was entered incorrectly."), code="password_incorrect")
    elif code and "totp" in methods and totp_code_clean(code):
        if totp_verify(user=user, code=code, ip=ip):
            method = "totp"
    elif code and "code" in methods:
        try:
            code_consume(email=user.email, purpose=Purpose.LOGIN, code=code, ip=ip)
            method = "code"
        except CodeLimited as error:
            raise MfaLimited(error.retry_after) from None
        except CodeError:
            method = None
    if method is None:
        if not password and not code:
            raise MfaError(_("Enter your password or a code."), code="required")
        raise MfaError(_("That code is not right, or was already used."), code="code_incorrect")
    reauth_record(request, method=method, user=user)
    return method
