"""Password reset through the API and by code (ACCOUNTS_PASSWORD_RESET_BY_CODE).

A reset link's key is "<uidb64>-<token>" (services.password_reset_key), read here with Django's
token generator, as the link page does. By code, the code is sent only to an active account with a
usable password, exactly as a link would be, and the answer is the same either way.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import gettext as _

from .codes import CodeError, Purpose, code_consume, code_send
from .services import password_reset_complete
from .tokens import TokenInvalid


def _users():
    return get_user_model()._default_manager


def password_reset_key_user(*, key):
    """The account a reset key is for, while the key still works; TokenInvalid otherwise."""
    uidb64, _sep, token = (key if isinstance(key, str) else "").rpartition("-")
    uidb64, _sep, timestamp = uidb64.rpartition("-")
    token = f"{timestamp}-{token}"
    try:
        user = _users().filter(pk=int(force_str(urlsafe_base64_decode(uidb64)))).first()
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        user = None
    if user is None or not user.is_active or not default_token_generator.check_token(user, token):
        raise TokenInvalid()
    return user


def password_reset_by_key(*, user, set_password_form, ip=None, user_agent=""):
    """Save a SetPasswordForm already validated for the user of a reset key, and finish the reset.
    `ip` and `user_agent` are the request's, for the notice."""
    with transaction.atomic():
        set_password_form.save()
        password_reset_complete(user=user, ip=ip, user_agent=user_agent)
    return user


def password_reset_code_send(*, email, ip=None, language=None):
    """Email a reset code if `email` has an account that may reset; CodeLimited over a limit."""
    return code_send(email=email, purpose=Purpose.PASSWORD_RESET, ip=ip, language=language)


def password_reset_code_user(*, email):
    """The account a reset code for `email` would reset (None if none): whose rules the new password
    is checked against before the code is used up."""
    return _users().filter(email=email, is_active=True).first()


def password_reset_by_code(*, email, code, new_password, ip=None, user_agent=""):
    """Set a new password with the code emailed for it; the user. Raises CodeError (wrong, expired,
    dead, locked) and CodeLimited. Every session the account had ends (the password hash changes)."""
    code_consume(email=email, purpose=Purpose.PASSWORD_RESET, code=code, ip=ip)
    with transaction.atomic():
        user = _users().select_for_update().filter(email=email, is_active=True).first()
        if user is None:
            raise CodeError(
                _("That code is wrong or has expired. Check the latest email, or ask for a new code."), code="invalid"
            )
        user.set_password(new_password)
        user.save(update_fields=["password"])
        password_reset_complete(user=user, ip=ip, user_agent=user_agent)
    return user
