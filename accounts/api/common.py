"""What the account endpoints share: limits, the session answer, code errors."""

from django.utils.translation import get_language

from ..flows.code_verification import LOGIN_EMAIL_SESSION_KEY as LOGIN_EMAIL_KEY
from ..flows.code_verification import CodeLimited
from ..flows.email_verification_by_code import PENDING_KEY
from ..flows.mfa import PENDING_KEY as MFA_PENDING_KEY
from ..flows.mfa import mfa_login_pending, second_factor_methods
from ..flows.password_reset import RESET_EMAIL_SESSION_KEY as RESET_EMAIL_KEY
from ..ratelimit import client_ip, ratelimit_consume
from .problems import field_problem, limited


def limit(request, action, key=None):
    """Count one hit of `action`, as the pages do; over a limit raise the 429 problem."""
    retry_after = ratelimit_consume(action=action, key=key, ip=client_ip(request))
    if retry_after:
        raise limited(retry_after)


def code_problem(error, field="code"):
    """A CodeError (wrong, dead, locked) or CodeLimited as the problem the client gets."""
    if isinstance(error, CodeLimited):
        return limited(error.retry_after, error.messages[0])
    return field_problem(field, error.messages[0], error.code or "invalid")


def user_out(user):
    return {
        "id": user.pk,
        "username": user.username,
        "email": user.email,
        "email_confirmed": user.email_confirmed_at is not None,
        "language": user.language,
    }


def session_out(client):
    user = client.user
    state = client.peek()
    pending = [
        name
        for name, key in (
            ("verify_email", PENDING_KEY),
            ("login_code", LOGIN_EMAIL_KEY),
            ("password_reset_code", RESET_EMAIL_KEY),
        )
        if state.get(key)
    ]
    methods = []
    if state.get(MFA_PENDING_KEY):
        waiting = mfa_login_pending(client.request)
        if waiting is not None:
            pending.append("second_factor")
            methods = second_factor_methods(waiting)
    return {
        "authenticated": user is not None,
        "user": user_out(user) if user is not None else None,
        "pending": pending,
        "session_token": client.session_token,
        "second_factor_methods": methods,
    }


def language():
    return get_language()
