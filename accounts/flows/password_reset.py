"""Passwords: a reset by an emailed link or (ACCOUNTS_PASSWORD_RESET_BY_CODE) by code, and the
notice after any change.

A request for a reset link is recorded and carried out by the worker (password_reset_process), so
it costs the same for every address. A reset link's key is "<uidb64>-<token>" (allauth's shape),
read back with Django's token generator, as the link page does. By code, the code is sent only to
an active account with a usable password, exactly as a link would be, and the answer is the same
either way. Every reset ends with password_reset_complete: the address is confirmed (the mail
reached it) and the owner is told.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _

from notifications.services import email_send

from ..conf import settings
from ..identity import email_canonical_or_none
from ..intents import intent_record
from ..links import URGENT, absolute, duration_text, frontend_link
from ..models import Intent
from ..origin import origin_context
from ..tokens import TokenInvalid
from .code_verification import CodeError, Purpose, code_consume, code_send
from .email_verification import user_confirm

# Where a client keeps the address a reset code was sent to, for the page that asks for it.
RESET_EMAIL_SESSION_KEY = "accounts_reset_code_email"


def _users():
    return get_user_model()._default_manager


# ------------------------------------------------------------------------------------------------
# Reset by link
# ------------------------------------------------------------------------------------------------
def password_reset_request(*, email):
    """Record a reset request (password_reset_process does it): the same work for every address."""
    email = email_canonical_or_none(email)
    if email:
        intent_record(kind=Intent.Kind.RESET, email=email)


def password_reset_process(*, email):
    """Mail a reset link to the active account with this address, if any; True if one was sent.
    Unlike Django's form, an account without a usable password gets one too: every account here
    logs in with a password or a code, and a reverted email change leaves the password unusable
    until its owner chooses a new one."""
    user = _users().filter(email=email, is_active=True).first()
    if user is None:
        return False
    password_reset_send(
        user=user,
        uidb64=urlsafe_base64_encode(force_bytes(user.pk)),
        token=default_token_generator.make_token(user),
    )
    return True


def password_reset_key(*, uidb64, token):
    """One opaque key for a reset link (allauth's shape), read back by password_reset_key_user."""
    return f"{uidb64}-{token}"


def password_reset_send(*, user, uidb64, token, template="password_reset"):
    path = reverse("accounts:password-reset-confirm", kwargs={"uidb64": uidb64, "token": token})
    link = frontend_link("password_reset", password_reset_key(uidb64=uidb64, token=token), path)
    email_send(
        template=template,
        to=user.email,
        context={"user": user, "link": link, "valid_for": duration_text(settings.PASSWORD_RESET_TIMEOUT)},
        language=user.language,
        category=URGENT,
        sensitive=True,
        redact=[link, token],
        unsolicited=True,
    )


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


def password_reset_complete(*, user, ip=None, user_agent=""):
    """After a reset through an emailed link or code: it proved the address, and the owner is told."""
    user_confirm(user=user)
    password_changed_notify(user=user, ip=ip, user_agent=user_agent)


# ------------------------------------------------------------------------------------------------
# Reset by code
# ------------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------------
# After any change
# ------------------------------------------------------------------------------------------------
def password_changed_notify(*, user, ip=None, user_agent=""):
    """Tell the owner when, from which address and browser (accounts.origin.request_origin gives
    the request's), with a reset link in case it was not them."""
    email_send(
        template="password_changed",
        to=user.email,
        context={
            "user": user,
            "reset_url": absolute(reverse("accounts:password-reset")),
            "origin": origin_context(ip=ip, user_agent=user_agent),
        },
        language=user.language,
        category=URGENT,
    )
