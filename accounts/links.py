"""What the flows' emails share: the links they carry, how long those work, and their category.

Every mail leaves through notifications.services.email_send (the outbox), in the user's saved
language. Mails that carry a link which grants something (confirm, reset, change) are urgent and
sensitive, with the link and its token listed for redaction once delivered.
"""

from datetime import timedelta

from django.utils import timezone
from django.utils.functional import lazy
from django.utils.timesince import timesince

from .conf import settings

URGENT = "urgent"  # the outbox category of links, codes and security notices


def absolute(path):
    """This site's `path` as a full URL (SITE_URL), for a link in an email."""
    return settings.SITE_URL + path


def frontend_link(name, key, path):
    """The link an email carries: the front end's own page for `name` when the project sets one in
    ACCOUNTS_FRONTEND_URLS (a template with {key}), else this site's `path`."""
    template = settings.ACCOUNTS_FRONTEND_URLS.get(name)
    return template.replace("{key}", key) if template else absolute(path)


def _duration(seconds):
    now = timezone.now()
    return timesince(now, now + timedelta(seconds=seconds))


# Rendered when the mail is, inside the recipient's language.
duration_text = lazy(_duration, str)
