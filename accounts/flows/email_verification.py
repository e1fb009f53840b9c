"""Confirming the address of a new account: by a link, or by an emailed code when
ACCOUNTS_EMAIL_VERIFICATION_BY_CODE is on (accounts.flows.email_verification_by_code checks that code).

A sign-up leaves a proof with the browser or app that chose the password (signup_proof: a keyed
fingerprint of the address and the password hash). A confirmation from that client keeps the
password; from anywhere else, the password may be a squatter's, and must be chosen again
(PasswordRequired; README, Security: squatting).
"""

import hmac
import logging
import time

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils.crypto import salted_hmac

from notifications.services import email_send

from ..conf import settings
from ..errors import AccountsError
from ..identity import email_canonical_or_none
from ..intents import intent_record
from ..links import URGENT, duration_text, frontend_link
from ..models import Intent
from ..tokens import TokenInvalid, TokenUsed, confirm_token_generator
from .code_verification import CodeLimited, Purpose, code_send

logger = logging.getLogger(__name__)

# Where a client keeps the proofs of the sign-ups it made (its session, or an app token's state).
SIGNUP_PROOFS_SESSION_KEY = "accounts_signup_proofs"
# The salt predates this module's name; changing it would void the proofs clients keep.
SIGNUP_PROOF_SALT = "accounts.services.signup_proof"


def _users():
    return get_user_model()._default_manager


class PasswordRequired(AccountsError):
    """The link proves the address, but the account's password was chosen by someone who never
    proved it (perhaps a squatter): the person confirming must choose a new one."""


# ------------------------------------------------------------------------------------------------
# Sending
# ------------------------------------------------------------------------------------------------
def confirmation_send(*, user):
    """Mail `user` a confirmation link, or a code under ACCOUNTS_EMAIL_VERIFICATION_BY_CODE."""
    if settings.ACCOUNTS_EMAIL_VERIFICATION_BY_CODE:
        _confirmation_code_send(user=user)
        return
    token = confirm_token_generator.make_token(user=user, email=user.email)
    link = confirmation_link(token)
    email_send(
        template="confirm",
        to=user.email,
        context={"user": user, "link": link, "valid_for": confirmation_valid_for()},
        language=user.language,
        category=URGENT,
        sensitive=True,
        redact=[link, token],
        unsolicited=True,
        # A resend within the same minute (a double click, a retried request) is one message.
        idempotency_key=f"accounts:confirm:{user.pk}:{user.email}:{int(time.time() // 60)}",
    )


def confirmation_link(token):
    """The link that confirms the address a confirmation `token` was made for."""
    return frontend_link("confirm", token, reverse("accounts:confirm", args=[token]))


def confirmation_valid_for():
    """How long a confirmation link works, as text in the language the mail is rendered in."""
    return duration_text(confirm_token_generator.timeout())


def _confirmation_code_send(*, user):
    # Over a limit nothing is sent, and the person can ask again from the page that waits for the code.
    try:
        code_send(email=user.email, purpose=Purpose.VERIFY_EMAIL, language=user.language)
    except CodeLimited:
        logger.info("verification code for user %s not sent: over a limit", user.pk)


def confirmation_resend(*, email):
    """Record a request for a new confirmation link (confirmation_resend_process does it). The
    same work whatever the address, so callers answer the same either way."""
    email = email_canonical_or_none(email)
    if email:
        intent_record(kind=Intent.Kind.RESEND, email=email)


def confirmation_resend_process(*, email):
    """Send a new link if `email` belongs to an active, unconfirmed account. True if one was sent."""
    user = _users().filter(email=email, email_confirmed_at__isnull=True, is_active=True).first()
    if user is None:
        return False
    confirmation_send(user=user)
    return True


# ------------------------------------------------------------------------------------------------
# Proofs of the sign-up
# ------------------------------------------------------------------------------------------------
def signup_proof(*, user):
    """A keyed fingerprint of the account's address and password hash. The browser that chose
    the password keeps it in its session; a confirmation from that browser keeps the password."""
    return signup_proof_of(email=user.email, password_hash=user.password)


def signup_proof_of(*, email, password_hash):
    """The proof of a sign-up not yet carried out (accounts.flows.signup.signup_request)."""
    return salted_hmac(SIGNUP_PROOF_SALT, f"{email}\0{password_hash}", algorithm="sha256").hexdigest()


def confirm_needs_password(*, user, proofs=()):
    """True if confirming `user` must set a new password: one was chosen before the address was
    proven, and not by the browser that is confirming (see README, Security: squatting)."""
    if not user.has_usable_password():
        return False
    mine = signup_proof(user=user)
    return not any(isinstance(proof, str) and hmac.compare_digest(proof, mine) for proof in proofs)


# ------------------------------------------------------------------------------------------------
# Confirming
# ------------------------------------------------------------------------------------------------
def _confirm_target(token, *, lock=False):
    data = confirm_token_generator.read_token(token)
    users = _users().select_for_update() if lock else _users()
    user = users.filter(pk=data["u"]).first()
    if user is None or user.email != data["e"]:
        raise TokenInvalid()
    if user.email_confirmed:
        raise TokenUsed()
    if not confirm_token_generator.state_matches(data, user):  # password or address changed since
        raise TokenInvalid()
    return user


def email_confirm_check(*, token):
    """The user a confirmation token would confirm; TokenError if it would not. Changes nothing."""
    return _confirm_target(token)


def email_confirm(*, token, proofs=(), new_password=None):
    """Confirm the address a token was sent to. Raises TokenError (invalid, expired, used), and
    PasswordRequired unless `new_password` is given or `proofs` show this browser chose the
    password. A new password also ends every session the account had."""
    with transaction.atomic():
        user = _confirm_target(token, lock=True)
        fields = ["email_confirmed_at"]
        if new_password is not None:
            user.set_password(new_password)
            fields.append("password")
        elif confirm_needs_password(user=user, proofs=proofs):
            raise PasswordRequired()
        user.mark_email_confirmed()
        user.save(update_fields=fields)
        # A passkey made at sign-up is kept only by the client that made it (a squatter's is not).
        _passkeys_unproven_remove(user=user, proofs=proofs)
    return user


def _passkeys_unproven_remove(*, user, proofs):
    mine = signup_proof(user=user)
    proven = any(isinstance(proof, str) and hmac.compare_digest(proof, mine) for proof in proofs)
    if not proven:
        from ..models import Passkey

        Passkey.objects.filter(user=user).delete()


def user_confirm(*, user):
    """Mark an account's address confirmed (by an operator, or a reset link that reached it)."""
    if user.email_confirmed:
        return False
    user.mark_email_confirmed()
    user.save(update_fields=["email_confirmed_at"])
    return True
