"""Account rules: registration, address confirmation, email change, password notices.

Every mail leaves through notifications.services.email_send (the outbox), in the user's saved
language. Mails that carry a link which grants something (confirm, reset, change) are urgent and
sensitive, with the link and its token listed for redaction once delivered.
"""

import hmac
import logging
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import default_token_generator
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.encoding import force_bytes
from django.utils.functional import lazy
from django.utils.http import urlsafe_base64_encode
from django.utils.timesince import timesince

from notifications.services import email_send

from .conf import settings
from .errors import AccountsError
from .identity import email_canonical, email_canonical_or_none
from .intents import intent_record
from .models import Intent
from .origin import origin_context
from .ratelimit import ratelimit_consume
from .tokens import (
    TokenAddressTaken,
    TokenInvalid,
    TokenUsed,
    confirm_token_generator,
    email_change_token_generator,
    email_revert_token_generator,
)

logger = logging.getLogger(__name__)

URGENT = "urgent"


def _absolute(path):
    return settings.SITE_URL + path


def frontend_link(name, key, path):
    """The link an email carries: the front end's own page for `name` when the project sets one in
    ACCOUNTS_FRONTEND_URLS (a template with {key}), else this site's `path`."""
    template = settings.ACCOUNTS_FRONTEND_URLS.get(name)
    return template.replace("{key}", key) if template else _absolute(path)


def password_reset_key(*, uidb64, token):
    """One opaque key for a reset link (allauth's shape), read back by accounts.password_reset."""
    return f"{uidb64}-{token}"


def _duration(seconds):
    now = timezone.now()
    return timesince(now, now + timedelta(seconds=seconds))


# Rendered when the mail is, inside the recipient's language.
duration_text = lazy(_duration, str)


def _users():
    return get_user_model()._default_manager


# ------------------------------------------------------------------------------------------------
# Registration and address confirmation
# ------------------------------------------------------------------------------------------------
def user_register(*, email, username, password=None, password_hash=None, language=None, confirmed=False):
    """Create an account, with `password` or the hash of one. Unconfirmed accounts are sent a
    confirmation link in the same transaction, so a failed sign-up sends nothing. Raises
    IntegrityError if the address or username was taken meanwhile."""
    with transaction.atomic():
        user = _users().create_user(
            username=username,
            email=email,
            password=password,
            language=language or settings.LANGUAGE_CODE,
            email_confirmed_at=timezone.now() if confirmed else None,
        )
        if password_hash is not None:
            user.password = password_hash
            user.save(update_fields=["password"])
        if not confirmed:
            confirmation_send(user=user)
    return user


def confirmation_send(*, user):
    if settings.ACCOUNTS_EMAIL_VERIFICATION_BY_CODE:
        from .verification import verification_code_send  # here: verification imports this module

        verification_code_send(user=user)
        return
    token = confirm_token_generator.make_token(user=user, email=user.email)
    link = frontend_link("confirm", token, reverse("accounts:confirm", args=[token]))
    email_send(
        template="confirm",
        to=user.email,
        context={"user": user, "link": link, "valid_for": duration_text(confirm_token_generator.timeout())},
        language=user.language,
        category=URGENT,
        sensitive=True,
        redact=[link, token],
    )


def signup_request(*, email, username, password, language=None):
    """Record a sign-up for the worker (signup_process). The password is hashed here, for every
    address alike, so the request costs the same whether or not the address has an account.
    Returns the proof the signing-up browser keeps (see signup_proof)."""
    email = email_canonical(email)
    password_hash = make_password(password)
    intent_record(
        kind=Intent.Kind.SIGNUP,
        email=email,
        username=username,
        password_hash=password_hash,
        language=language or settings.LANGUAGE_CODE,
    )
    return _signup_proof(email, password_hash)


def signup_process(*, email, username, password_hash, language=None):
    """The worker's half of a sign-up: a new account with its confirmation link, or, for an
    address that has an account, a notice to its owner."""
    if not _users().filter(email=email).exists():
        try:
            user_register(email=email, username=username, password_hash=password_hash, language=language)
            return
        except IntegrityError:  # the address or the username was taken since the request
            if not _users().filter(email=email).exists():
                logger.warning("sign-up dropped: its username was taken since the request")
                return
    signup_existing_notify(email=email)


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


class PasswordRequired(AccountsError):
    """The link proves the address, but the account's password was chosen by someone who never
    proved it (perhaps a squatter): the person confirming must choose a new one."""


SIGNUP_PROOF_SALT = "accounts.services.signup_proof"


def signup_proof(*, user):
    """A keyed fingerprint of the account's address and password hash. The browser that chose
    the password keeps it in its session; a confirmation from that browser keeps the password."""
    return _signup_proof(user.email, user.password)


def _signup_proof(email, password_hash):
    return salted_hmac(SIGNUP_PROOF_SALT, f"{email}\0{password_hash}", algorithm="sha256").hexdigest()


def confirm_needs_password(*, user, proofs=()):
    """True if confirming `user` must set a new password: one was chosen before the address was
    proven, and not by the browser that is confirming (see README, Security: squatting)."""
    if not user.has_usable_password():
        return False
    mine = signup_proof(user=user)
    return not any(isinstance(proof, str) and hmac.compare_digest(proof, mine) for proof in proofs)


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
    return user


def unconfirmed_prune(*, now=None):
    """Delete accounts still unconfirmed after the confirmation timeout: no link can confirm them
    any more, and an address held that way is squatted. Staff accounts are left to operators."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.ACCOUNTS_CONFIRM_TIMEOUT)
    stale = _users().filter(email_confirmed_at__isnull=True, date_joined__lt=cutoff, is_staff=False, is_superuser=False)
    deleted = stale.delete()[1].get(_users().model._meta.label, 0)
    if deleted:
        logger.info("deleted %d account(s) never confirmed", deleted)
    return deleted


def user_confirm(*, user):
    """Mark an account's address confirmed (by an operator, or a reset link that reached it)."""
    if user.email_confirmed:
        return False
    user.mark_email_confirmed()
    user.save(update_fields=["email_confirmed_at"])
    return True


def signup_existing_notify(*, email):
    """Someone tried to sign up with an address that has an account. Tell its owner by mail,
    rather than telling the visitor, so sign-up does not reveal which addresses have accounts."""
    user = _users().filter(email=email_canonical_or_none(email) or "").first()
    if user is None:
        return
    if ratelimit_consume(action="confirm_resend", key=user.email):
        logger.info("sign-up with an existing address: notice to user %s skipped (rate limit)", user.pk)
        return
    context = {
        "user": user,
        "login_url": _absolute(reverse("accounts:login")),
        "reset_url": _absolute(reverse("accounts:password-reset")),
        "link": "",
    }
    redact = []
    if not user.email_confirmed and user.is_active:
        token = confirm_token_generator.make_token(user=user, email=user.email)
        context["link"] = frontend_link("confirm", token, reverse("accounts:confirm", args=[token]))
        context["valid_for"] = duration_text(confirm_token_generator.timeout())
        redact = [context["link"], token]
    email_send(
        template="signup_existing",
        to=user.email,
        context=context,
        language=user.language,
        category=URGENT,
        sensitive=bool(redact),
        redact=redact,
    )


# ------------------------------------------------------------------------------------------------
# Passwords
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
    )


def password_reset_complete(*, user, ip=None, user_agent=""):
    """After a reset through an emailed link: that link proved the address, and the owner is told."""
    user_confirm(user=user)
    password_changed_notify(user=user, ip=ip, user_agent=user_agent)


def password_changed_notify(*, user, ip=None, user_agent=""):
    """Tell the owner when, from which address and browser (accounts.origin.request_origin gives
    the request's), with a reset link in case it was not them."""
    email_send(
        template="password_changed",
        to=user.email,
        context={
            "user": user,
            "reset_url": _absolute(reverse("accounts:password-reset")),
            "origin": origin_context(ip=ip, user_agent=user_agent),
        },
        language=user.language,
        category=URGENT,
    )


# ------------------------------------------------------------------------------------------------
# Changing the address
# ------------------------------------------------------------------------------------------------
def email_change_request(*, user, new_email):
    """Send a link to `new_email`; the account keeps its address until that link is used. If
    another account has that address, its owner gets a notice instead, and the caller answers
    exactly as for a free address, so the form tells nobody which addresses have accounts."""
    new_email = email_canonical(new_email)
    owner = _users().filter(email=new_email).exclude(pk=user.pk).first()
    if owner is not None:
        email_send(
            template="email_change_taken",
            to=owner.email,
            context={"user": owner, "login_url": _absolute(reverse("accounts:login"))},
            language=owner.language,
            category=URGENT,
        )
        return False
    token = email_change_token_generator.make_token(user=user, email=new_email)
    link = frontend_link("email_change", token, reverse("accounts:email-change-confirm", args=[token]))
    email_send(
        template="email_change_confirm",
        to=new_email,
        context={
            "user": user,
            "new_email": new_email,
            "link": link,
            "valid_for": duration_text(email_change_token_generator.timeout()),
        },
        language=user.language,
        category=URGENT,
        sensitive=True,
        redact=[link, token],
    )
    return True


def _email_change_target(token, *, lock=False):
    data = email_change_token_generator.read_token(token)
    users = _users().select_for_update() if lock else _users()
    user = users.filter(pk=data["u"]).first()
    if user is None:
        raise TokenInvalid()
    if user.email == data["e"]:
        raise TokenUsed()
    if user.email != data["o"] or not email_change_token_generator.state_matches(data, user):
        raise TokenInvalid()  # the address or the password changed since the link was made
    if _users().filter(email=data["e"]).exclude(pk=user.pk).exists():
        raise TokenAddressTaken()
    return user, data["e"]


def email_change_check(*, token):
    """(user, new address) an email-change token would apply; TokenError if not. Changes nothing."""
    return _email_change_target(token)


def email_change_confirm(*, token, ip=None, user_agent=""):
    """Switch the account to the address the token was sent to (now confirmed) and tell the old
    address, with a link that undoes the change (accounts.email_revert). Raises TokenError
    (invalid, expired, used, taken)."""
    try:
        with transaction.atomic():
            user, new_email = _email_change_target(token, lock=True)
            old_email = user.email
            user.email = new_email
            user.mark_email_confirmed()
            user.save(update_fields=["email", "email_confirmed_at"])
            email_change_notify(user=user, old_email=old_email, ip=ip, user_agent=user_agent)
    except IntegrityError:  # taken between the check and the save
        raise TokenAddressTaken() from None
    return user


def email_change_notify(*, user, old_email, ip=None, user_agent=""):
    """Tell the old address that the account moved to user.email, with the link that moves it
    back and forces a password reset: without it, a thief's reset mail would go to the thief."""
    token = email_revert_token_generator.make_token(user=user, email=old_email)
    link = frontend_link("email_revert", token, reverse("accounts:email-revert-link", args=[token]))
    email_send(
        template="email_change_notice",
        to=old_email,
        context={
            "user": user,
            "old_email": old_email,
            "new_email": user.email,
            "origin": origin_context(ip=ip, user_agent=user_agent, when=user.email_confirmed_at),
            "revert_link": link,
            "valid_for": duration_text(email_revert_token_generator.timeout()),
        },
        language=user.language,
        category=URGENT,
        sensitive=True,
        redact=[link, token],
    )
