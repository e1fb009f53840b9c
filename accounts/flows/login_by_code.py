"""Log-in by a code emailed to a confirmed account, allauth's `login_by_code` flow.

The code itself (limits, single use, audit rows, the same answer for every address) is
accounts.flows.code_verification; this module decides which account a right code opens. The pages and the API both
log in through it.
"""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from ..ratelimit import ratelimit_peek
from .code_verification import CodeError, Purpose, clean_email, code_consume


def login_code_wait(*, email):
    """Seconds until another code may be sent to `email`, so a page can wait as long as the limit
    would make it (0 for text that is no address)."""
    try:
        return ratelimit_peek(action="code_send", key=clean_email(email))
    except CodeError:
        return 0


def login_by_code(*, email, code, ip=None):
    """The account a right log-in code for `email` opens: active, with its address confirmed.
    Raises CodeError (wrong, expired, dead, locked, or the account was deactivated since the code
    was sent: one answer for all) and CodeLimited (over a limit)."""
    code_consume(email=email, purpose=Purpose.LOGIN, code=code, ip=ip)
    users = get_user_model()._default_manager
    user = users.filter(email=email, is_active=True, email_confirmed_at__isnull=False).first()
    if user is None:
        raise CodeError(
            _("That code is wrong or has expired. Check the latest email, or ask for a new code."), code="invalid"
        )
    return user
