"""Deleting your own account: confirmed by your password or by a code emailed to you.

- `deletion_code_send(*, user)` emails a code (rate-limited: ACCOUNTS_RATE_LIMITS["account_delete"]).
- `deletion_confirm(*, user, password=None, code=None)` checks one of the two; every try counts
  against ACCOUNTS_RATE_LIMITS["account_delete_confirm"], and a code dies after
  ACCOUNTS_CODE_MAX_ATTEMPTS wrong tries.
- `account_delete(*, user)` deletes the account with everything that cascades from it, purges the
  outbox rows addressed to it, and queues one notice to the address, which is all that is left.

Keyword-only and view-independent, so the pages and the JSON API share them. They raise
`DeletionError` (a ValidationError with a message for the person); `DeletionLimited` carries
`retry_after` seconds for a 429.
"""

import hmac
import logging
import secrets
import time

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from notifications.services import email_send, outbox_purge_address

from ..conf import settings
from ..errors import AccountsError
from ..ratelimit import ratelimit_consume
from .sessions import sessions_end_others

logger = logging.getLogger(__name__)

SALT = "accounts.deletion"


class DeletionError(ValidationError, AccountsError):
    """The deletion cannot be confirmed, with a message for the person."""


class DeletionLimited(DeletionError):
    def __init__(self, retry_after):
        super().__init__(
            _("Too many attempts. Please try again in %(seconds)d seconds.") % {"seconds": retry_after},
            code="rate_limited",
        )
        self.retry_after = retry_after


def _key(user):
    return f"accounts:deletion:{user.pk}"


def _hash(user, code):
    # Bound to the address and the password hash: a code outlives neither a change of either.
    return salted_hmac(SALT, f"{user.pk}\0{user.email}\0{user.password}\0{code}", algorithm="sha256").hexdigest()


def deletion_code_send(*, user):
    """Email `user` a code that confirms the deletion of their account, replacing any earlier one.
    Returns the seconds it works for. Raises DeletionLimited."""
    retry_after = ratelimit_consume(action="account_delete", key=f"user:{user.pk}")
    if retry_after:
        raise DeletionLimited(retry_after)
    code = "".join(secrets.choice("0123456789") for _digit in range(settings.ACCOUNTS_CODE_LENGTH))
    ttl = settings.ACCOUNTS_CODE_TTL
    cache.set(_key(user), {"hash": _hash(user, code), "tries": 0, "until": time.time() + ttl}, timeout=ttl)
    email_send(
        template="account_delete_code",
        to=user.email,
        context={"user": user, "code": code, "minutes": max(1, ttl // 60)},
        language=user.language,
        sensitive=True,
        redact=[code],
    )
    return ttl


def deletion_confirm(*, user, password=None, code=None):
    """Check the person's password or their emailed deletion code (single use). Returns None if
    confirmed; raises DeletionError (wrong) or DeletionLimited (too many tries)."""
    retry_after = ratelimit_consume(action="account_delete_confirm", key=f"user:{user.pk}")
    if retry_after:
        raise DeletionLimited(retry_after)
    if password:
        if user.has_usable_password() and user.check_password(password):
            return
        raise DeletionError(_("Your password was entered incorrectly."), code="password_incorrect")
    if code and _code_use(user, "".join(str(code).split())):
        return
    raise DeletionError(
        _("That code is wrong or has expired. Check the latest email, or ask for a new code."), code="code_incorrect"
    )


def _code_use(user, code):
    state = cache.get(_key(user))
    if not isinstance(state, dict):
        return False
    if hmac.compare_digest(state["hash"], _hash(user, code)):
        cache.delete(_key(user))
        return True
    state["tries"] += 1
    left = int(state["until"] - time.time())
    if state["tries"] >= settings.ACCOUNTS_CODE_MAX_ATTEMPTS or left < 1:
        cache.delete(_key(user))
    else:
        cache.set(_key(user), state, timeout=left)
    return False


def account_delete(*, user):
    """Delete `user` and what belongs to them (sessions, follows, preferences: what cascades), purge
    every outbox row addressed to them, then queue the deletion notice, the one row kept. Returns
    how many outbox rows were purged. The caller logs the current browser out."""
    email, username, language, code_key = user.email, user.username, user.language, _key(user)
    with transaction.atomic():
        sessions_end_others(user=user)
        user.delete()
        purged = outbox_purge_address(address=email)
        email_send(
            template="account_deleted",
            to=email,
            context={"username": username},
            language=language,
        )
    cache.delete(code_key)
    logger.info("account deleted; %d outbox row(s) purged", purged)
    return purged
