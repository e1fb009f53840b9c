"""Changing the address: a link to the new address, then a notice to the old one.

The account keeps its address until the link sent to the new one is used. The old address is
then told, with a link that undoes the change (accounts.flows.email_change_revert). Whether another account
has the new address is never shown to the person asking: its owner gets a notice instead.
"""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse

from notifications.services import email_send

from ..identity import email_canonical
from ..links import URGENT, absolute, duration_text, frontend_link
from ..origin import origin_context
from ..tokens import (
    TokenAddressTaken,
    TokenInvalid,
    TokenUsed,
    email_change_token_generator,
    email_revert_token_generator,
)


def _users():
    return get_user_model()._default_manager


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
            context={"user": owner, "login_url": absolute(reverse("accounts:login"))},
            language=owner.language,
            category=URGENT,
            unsolicited=True,
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
        unsolicited=True,
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
    address, with a link that undoes the change (accounts.flows.email_change_revert). Raises TokenError
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
