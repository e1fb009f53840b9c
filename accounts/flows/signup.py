"""Signing up: a request that costs the same for every address, carried out by the worker.

The page or the API records the sign-up (signup_request); the worker creates the account and
mails its confirmation (accounts.flows.email_verification), or, for an address that has an account, mails its
owner instead (signup_existing_notify), so sign-up reveals nothing about which addresses have
accounts. A username taken in between is told by mail too (signup_username_taken_notify).
Accounts never confirmed are deleted once no link can confirm them (unconfirmed_prune).
"""

import logging
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from notifications.services import email_send

from ..conf import settings
from ..identity import email_canonical, email_canonical_or_none
from ..intents import intent_record
from ..links import URGENT, absolute
from ..models import Intent
from ..ratelimit import ratelimit_consume
from ..tokens import confirm_token_generator
from .email_verification import confirmation_link, confirmation_send, confirmation_valid_for, signup_proof_of

logger = logging.getLogger(__name__)


def _users():
    return get_user_model()._default_manager


def user_register(*, email, username, password=None, password_hash=None, language=None, confirmed=False, passkey=None):
    """Create an account, with `password` or the hash of one, and the `passkey` of a sign-up with
    a passkey (accounts.flows.passkeys). Unconfirmed accounts are sent a confirmation link in the
    same transaction, so a failed sign-up sends nothing. Raises IntegrityError if the address or
    username was taken meanwhile."""
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
        if passkey is not None:
            from .passkeys import passkey_signup_keep

            passkey_signup_keep(user=user, passkey=passkey)
        if not confirmed:
            confirmation_send(user=user)
    return user


def signup_request(*, email, username, password, language=None):
    """Record a sign-up for the worker (signup_process). The password is hashed here, for every
    address alike, so the request costs the same whether or not the address has an account.
    Returns the proof the signing-up browser keeps (accounts.flows.email_verification.signup_proof)."""
    email = email_canonical(email)
    password_hash = make_password(password)
    intent_record(
        kind=Intent.Kind.SIGNUP,
        email=email,
        username=username,
        password_hash=password_hash,
        language=language or settings.LANGUAGE_CODE,
    )
    return signup_proof_of(email=email, password_hash=password_hash)


def signup_process(*, email, username, password_hash, language=None, passkey=None):
    """The worker's half of a sign-up: a new account with its confirmation link, or, for an
    address that has an account, a notice to its owner (a sign-up's passkey is then dropped)."""
    if not _users().filter(email=email).exists():
        try:
            user_register(
                email=email, username=username, password_hash=password_hash, language=language, passkey=passkey
            )
            return
        except IntegrityError:  # the address or the username was taken since the request
            if not _users().filter(email=email).exists():
                signup_username_taken_notify(email=email, username=username, language=language)
                return
    signup_existing_notify(email=email)


def signup_username_taken_notify(*, email, username, language=None):
    """The username was taken between the request and the worker: no account was made, and the
    person, who was told to check their inbox, is told by mail to sign up again."""
    logger.info("sign-up not completed: its username was taken since the request")
    if ratelimit_consume(action="confirm_resend", key=email):
        logger.info("sign-up with a taken username: notice skipped (rate limit)")
        return
    email_send(
        template="signup_username_taken",
        to=email,
        context={"username": username, "signup_url": absolute(reverse("accounts:signup"))},
        language=language or settings.LANGUAGE_CODE,
        category=URGENT,
        unsolicited=True,
    )


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
        "login_url": absolute(reverse("accounts:login")),
        "reset_url": absolute(reverse("accounts:password-reset")),
        "link": "",
    }
    redact = []
    if not user.email_confirmed and user.is_active:
        token = confirm_token_generator.make_token(user=user, email=user.email)
        context["link"] = confirmation_link(token)
        context["valid_for"] = confirmation_valid_for()
        redact = [context["link"], token]
    email_send(
        template="signup_existing",
        to=user.email,
        context=context,
        language=user.language,
        category=URGENT,
        sensitive=bool(redact),
        redact=redact,
        unsolicited=True,
    )


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
