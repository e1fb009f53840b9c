"""Bounce reasons as the dashboard counts them: the provider's text normalised, so that the hourly
sums (BounceReasonHour) hold no personal data and the same failure at different recipients adds up.

A bounce's text often names the recipient ("550 5.1.1 <ann@example.com>: Recipient address
rejected") and carries the receiving server's queue ids. Its reason is the text (the description,
or the mail server's response when there is none) with each address replaced by `<address>`, each
run of 5 or more digits by `<number>` and each long token of letters and digits by `<id>`, white
space collapsed, cut to REASON_LENGTH characters. Its kind is the provider's (hard or soft), or
else the class of the enhanced status code in the text (RFC 3463: 5.x.x permanent, 4.x.x
transient), or unknown.
"""

import re
from collections import Counter
from datetime import UTC

from django.db.models import Count
from django.db.models.functions import Trunc

from ..models import BounceReasonHour, EmailEvent

REASON_LENGTH = BounceReasonHour._meta.get_field("reason").max_length
ADDRESS = re.compile(r"<?[^\s<>()\[\]{},;:\"'@]+@[\w-]+(?:\.[\w-]+)*>?")
# A token of letters and digits with at least one of each, long enough to be an id, not a word.
TOKEN = re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[^\W\d_])[\w-]{10,}(?![\w-])")
DIGITS = re.compile(r"\d{5,}")
STATUS_CODE = re.compile(r"(?<![\d.])([245])\.\d{1,3}\.\d{1,3}(?!\.?\d)")
SPACE = re.compile(r"\s+")
KINDS = {"5": EmailEvent.Bounce.HARD.value, "4": EmailEvent.Bounce.SOFT.value}


def reason_text(text):
    """The text with addresses, long numbers and ids replaced, collapsed and cut short."""
    text = ADDRESS.sub("<address>", text or "")
    text = TOKEN.sub("<id>", text)
    text = DIGITS.sub("<number>", text)
    text = SPACE.sub(" ", text).strip()
    return text if len(text) <= REASON_LENGTH else text[: REASON_LENGTH - 1].rstrip() + "…"


def reason_of(*, description="", mta_response="", bounce=""):
    """(kind, reason) of one bounce: see the module's docstring."""
    text = description or mta_response or ""
    code = STATUS_CODE.search(text)
    kind = bounce if bounce in EmailEvent.Bounce.values else KINDS.get(code.group(1) if code else "", "")
    return kind, reason_text(text)


def reason_counts(since, until):
    """Counter{(hour, kind, reason): n} of the bounces that occurred from `since` to before
    `until`: one query over the (event type, occurred) index's range, grouped by the raw texts,
    which are then normalised here (the same failure at different recipients adds up)."""
    found = Counter()
    rows = (
        EmailEvent.objects.filter(event_type="bounced", occurred_at__gte=since, occurred_at__lt=until)
        .annotate(hour=Trunc("occurred_at", "hour", tzinfo=UTC))
        .values_list("hour", "bounce", "description", "mta_response")
        .annotate(n=Count("id"))
        .order_by()
    )
    for hour, bounce, description, mta_response, n in rows:
        kind, reason = reason_of(description=description, mta_response=mta_response, bounce=bounce)
        found[hour, kind, reason] += n
    return found
