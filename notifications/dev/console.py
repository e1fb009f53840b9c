"""The console provider for development: one log line per email (to, subject, where to read it
in the dev mailbox) instead of the raw MIME Django's console backend prints. The mailbox shows
the message itself, rendered, with its source one click away."""

import logging

from django.core.mail.backends.base import BaseEmailBackend
from django.urls import NoReverseMatch, reverse

from ..conf import settings

logger = logging.getLogger("notifications.console")


def mailbox_url(outbox_id):
    try:
        path = (
            reverse("notifications:mailbox-detail", args=[outbox_id]) if outbox_id else reverse("notifications:mailbox")
        )
    except NoReverseMatch:  # a project that does not mount the app's pages
        return ""
    return settings.SITE_URL.rstrip("/") + path


class EmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        for message in email_messages:
            url = mailbox_url(getattr(message, "outbox_id", None))
            logger.info(
                'email to %s: "%s"%s', ", ".join(message.recipients()), message.subject, f"  {url}" if url else ""
            )
        return len(email_messages)
