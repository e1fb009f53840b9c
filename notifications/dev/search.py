"""The dev mailbox's search syntax, as Mailpit's: words and `key:value` terms, all of which must
match (AND).

  ada               the recipients or the subject contain "ada"
  from:site@        the From address contains it
  to:ada@           the recipients (To, Cc, Bcc) contain it
  subject:welcome   the subject contains it; "quoted values" may hold spaces
  is:unread         not opened yet in the mailbox (is:read, the others)
  has:attachment    the message carries an attachment
  before:2026-12-08 made before that day (the site's time zone)
  after:2026-12-01  made on that day or later

A sensitive email's subject is stored redacted, so searching for its code finds nothing; the
page says so. A term with an unknown key is searched as a plain word."""

import datetime
import re

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import NotificationsError

TERM = re.compile(r'(?:(\w+):)?(?:"([^"]*)"|(\S+))')
KEYS = ("from", "to", "subject", "is", "has", "before", "after")


class SearchInvalid(NotificationsError, ValueError):
    """A term the mailbox cannot search by (a bad date, an unknown is:/has: value)."""


def _day(value, key):
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        raise SearchInvalid(_("%(key)s: needs a date such as 2026-12-31.") % {"key": key}) from None
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def _term(key, value):
    if key == "from":
        return Q(from_email__icontains=value)
    if key == "to":
        return Q(recipients__icontains=value)
    if key == "subject":
        return Q(subject__icontains=value)
    if key == "is" and value.lower() in ("read", "unread"):
        return Q(read_at__isnull=value.lower() == "unread")
    if key == "has" and value.lower() in ("attachment", "attachments"):
        return Q(payload__attachments__0__isnull=False)
    if key == "before":
        return Q(created_at__lt=_day(value, key))
    if key == "after":
        return Q(created_at__gte=_day(value, key))
    raise SearchInvalid(_("%(key)s:%(value)s is not a search term this mailbox knows.") % {"key": key, "value": value})


def search_filter(query):
    """The Q object of a query in the syntax above (an empty Q matches every row)."""
    condition = Q()
    for match in TERM.finditer(query or ""):
        key, value = (match[1] or "").lower(), match[2] if match[2] is not None else match[3]
        if key not in KEYS:
            word = f"{match[1]}:{value}" if match[1] else value
            condition &= Q(recipients__icontains=word) | Q(subject__icontains=word)
        elif value:
            condition &= _term(key, value)
    return condition
