"""Deleting an account: the user row, and with it (by cascade) its app tokens, codes' owner links,
follows and notification settings."""

import logging

from django.db import transaction

from .sessions import sessions_end_others

logger = logging.getLogger(__name__)


def account_delete(*, user):
    """Delete `user` and end every session it had."""
    with transaction.atomic():
        sessions_end_others(user=user)
        pk = user.pk
        user.delete()
    logger.info("account %s deleted by its owner", pk)
