"""Undoing an email change from the old address ("this was not me").

Someone with a stolen password can move an account to their own address and then change the
password; from then on a reset mail would go to them. The notice to the old address carries a link
(tokens.EmailRevertTokenGenerator) that survives a password change. Using it puts the old address
back (confirmed), makes the password unusable, ends every session and app token, and sends the
restored address a link to choose a new password.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.db import IntegrityError, transaction
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from ..models import AppToken
from ..tokens import TokenAddressTaken, TokenInvalid, TokenUsed, email_revert_token_generator
from .password_reset import password_reset_send
from .sessions import sessions_end_others


def _users():
    return get_user_model()._default_manager


def _revert_target(token, *, lock=False):
    data = email_revert_token_generator.read_token(token)
    users = _users().select_for_update() if lock else _users()
    user = users.filter(pk=data["u"]).first()
    if user is None:
        raise TokenInvalid()
    if user.email == data["o"]:
        raise TokenUsed()
    if user.email != data["e"] or not email_revert_token_generator.state_matches(data, user):
        raise TokenInvalid()  # reverted already, or the address changed again since
    holder = _users().filter(email=data["o"]).exclude(pk=user.pk).first()
    # An unconfirmed claim on the freed address (a sign-up nobody confirmed, perhaps the thief's)
    # gives way to the link, which proves the address; a confirmed account does not.
    if holder is not None and (holder.email_confirmed or holder.is_staff or holder.is_superuser):
        raise TokenAddressTaken()
    return user, data["o"], holder


def email_revert_check(*, token):
    """(user, address it would get back) for a revert token; TokenError if not. Changes nothing."""
    user, old_email, _holder = _revert_target(token)
    return user, old_email


def email_revert(*, token):
    """Undo the change a revert token was sent about; the user. Raises TokenError (invalid,
    expired, used, taken)."""
    try:
        with transaction.atomic():
            user, old_email, holder = _revert_target(token, lock=True)
            if holder is not None:
                holder.delete()
            # Every browser session (its recorded row) and every API app token of the account ends.
            sessions_end_others(user=user)
            AppToken.objects.filter(user=user).delete()
            user.email = old_email
            user.mark_email_confirmed()
            user.set_unusable_password()
            user.save(update_fields=["email", "email_confirmed_at", "password"])
            password_reset_send(
                user=user,
                uidb64=urlsafe_base64_encode(force_bytes(user.pk)),
                token=default_token_generator.make_token(user),
                template="email_change_reverted",
            )
    except IntegrityError:  # the address was confirmed by another account between check and save
        raise TokenAddressTaken() from None
    return user
