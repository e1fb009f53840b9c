"""Sample data for the previews of the account emails (/dev/emails/, see notifications/previews.py).

Each context has the shape its sender in accounts/flows/ (signup.py, email_verification.py,
password_reset.py, email_change.py, code_verification.py, account_deletion.py) gives it.
Users are unsaved and the tokens are not real, so a preview never holds a link that works.
"""

from django.contrib.auth import get_user_model
from django.urls import reverse

from notifications.dev.previews import email_preview

from .conf import settings
from .links import duration_text
from .models import EmailCaptcha
from .origin import origin_context
from .tokens import confirm_token_generator, email_change_token_generator, email_revert_token_generator

SAMPLE_USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAMPLE_TOKEN = "eyJ1IjowLCJlIjoiYWRhQGV4YW1wbGUuY29tIn0:1sample:preview-only-this-link-does-nothing"


def _absolute(name, *args, **kwargs):
    return settings.SITE_URL + reverse(name, args=args, kwargs=kwargs)


def _user():
    return get_user_model()(username="ada", email="ada@example.com", first_name="Ada", last_name="Lovelace")


def _code(purpose):
    return {
        "code": "".join(str((7 * i + 4) % 10) for i in range(settings.ACCOUNTS_CODE_LENGTH)),
        "purpose": purpose,
        "minutes": max(1, settings.ACCOUNTS_CODE_TTL // 60),
    }


@email_preview(template="code", name="code_signup")
def code_signup():
    """A code that proves an address before sign-up."""
    return _code(EmailCaptcha.Purpose.SIGNUP)


@email_preview(template="code", name="code_login")
def code_login():
    """A code to log in without a password."""
    return _code(EmailCaptcha.Purpose.LOGIN)


@email_preview(template="confirm")
def confirm():
    """The link that confirms a new account's address."""
    return {
        "user": _user(),
        "link": _absolute("accounts:confirm", SAMPLE_TOKEN),
        "valid_for": duration_text(confirm_token_generator.timeout()),
    }


@email_preview(template="signup_existing", name="signup_existing_unconfirmed")
def signup_existing_unconfirmed():
    """Someone signed up with the address of an account that is not confirmed yet."""
    return {
        "user": _user(),
        "login_url": _absolute("accounts:login"),
        "reset_url": _absolute("accounts:password-reset"),
        "link": _absolute("accounts:confirm", SAMPLE_TOKEN),
        "valid_for": duration_text(confirm_token_generator.timeout()),
    }


@email_preview(template="signup_username_taken")
def signup_username_taken():
    """Someone else took the username between the sign-up and the worker's turn."""
    return {"username": "ada", "signup_url": _absolute("accounts:signup")}


@email_preview(template="signup_existing", name="signup_existing_confirmed")
def signup_existing_confirmed():
    """Someone signed up with the address of a confirmed account."""
    return {
        "user": _user(),
        "login_url": _absolute("accounts:login"),
        "reset_url": _absolute("accounts:password-reset"),
        "link": "",
    }


@email_preview(template="password_reset")
def password_reset():
    """The link to choose a new password."""
    return {
        "user": _user(),
        "link": _absolute("accounts:password-reset-confirm", uidb64="MA", token="preview-only"),
        "valid_for": duration_text(settings.PASSWORD_RESET_TIMEOUT),
    }


@email_preview(template="password_changed")
def password_changed():
    """The notice after a password change or reset."""
    return {
        "user": _user(),
        "reset_url": _absolute("accounts:password-reset"),
        "origin": origin_context(ip="203.0.113.7", user_agent=SAMPLE_USER_AGENT),
    }


@email_preview(template="email_change_confirm")
def email_change_confirm():
    """The link, sent to the new address, that makes it the account's address."""
    return {
        "user": _user(),
        "new_email": "ada.lovelace@example.org",
        "link": _absolute("accounts:email-change-confirm", SAMPLE_TOKEN),
        "valid_for": duration_text(email_change_token_generator.timeout()),
    }


@email_preview(template="email_change_notice")
def email_change_notice():
    """The notice to the old address once the change is made, with the link that undoes it."""
    return {
        "user": _user(),
        "old_email": "ada@example.com",
        "new_email": "ada.lovelace@example.org",
        "origin": origin_context(ip="203.0.113.7", user_agent=SAMPLE_USER_AGENT),
        "revert_link": _absolute("accounts:email-revert-link", SAMPLE_TOKEN),
        "valid_for": duration_text(email_revert_token_generator.timeout()),
    }


@email_preview(template="email_change_reverted")
def email_change_reverted():
    """After the change was undone from the old address: the link to choose a new password."""
    return {
        "user": _user(),
        "link": _absolute("accounts:password-reset-confirm", uidb64="MA", token="preview-only"),
        "valid_for": duration_text(settings.PASSWORD_RESET_TIMEOUT),
    }


@email_preview(template="email_change_taken")
def email_change_taken():
    """The notice to an address that another account asked to move to: it is taken, no link."""
    return {"user": _user(), "login_url": _absolute("accounts:login")}


@email_preview(template="account_delete_code")
def account_delete_code():
    """The code that confirms the deletion of an account."""
    return {"user": _user(), **_code("delete")}


@email_preview(template="account_deleted")
def account_deleted():
    """The notice once an account is deleted: the one email kept for its address."""
    return {"username": "ada"}


def _mfa_notice(event, **extra):
    return {
        "user": _user(),
        "event": event,
        "factor": extra.pop("factor", ""),
        "left": extra.pop("left", None),
        "security_url": _absolute("accounts:security"),
        "reset_url": _absolute("accounts:password-reset"),
        "origin": origin_context(ip="203.0.113.7", user_agent=SAMPLE_USER_AGENT),
    }


@email_preview(template="mfa_notice", name="mfa_factor_added")
def mfa_factor_added():
    """An authenticator app was added as a second factor."""
    return _mfa_notice("factor_added", factor="totp")


@email_preview(template="mfa_notice", name="mfa_factor_removed")
def mfa_factor_removed():
    """The authenticator app was removed."""
    return _mfa_notice("factor_removed", factor="totp")


@email_preview(template="mfa_notice", name="mfa_factors_removed_by_staff")
def mfa_factors_removed_by_staff():
    """Staff removed every second factor of the account (from the admin)."""
    return _mfa_notice("factors_removed_by_staff")


@email_preview(template="mfa_notice", name="mfa_recovery_codes_generated")
def mfa_recovery_codes_generated():
    """A new set of recovery codes replaced the old one."""
    return _mfa_notice("recovery_codes_generated")


@email_preview(template="mfa_notice", name="mfa_recovery_code_used")
def mfa_recovery_code_used():
    """A recovery code was used to log in."""
    return _mfa_notice("recovery_code_used", left=7)


@email_preview(template="mfa_notice", name="mfa_recovery_codes_low")
def mfa_recovery_codes_low():
    """Only a few recovery codes are left."""
    return _mfa_notice("recovery_codes_low", left=settings.ACCOUNTS_MFA_RECOVERY_CODES_LOW)


@email_preview(template="mfa_notice", name="mfa_browser_trusted")
def mfa_browser_trusted():
    """A browser was trusted to skip the second factor."""
    return _mfa_notice("browser_trusted")
