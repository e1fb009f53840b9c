"""The dev mailbox's reading of an outbox row: search, links, codes, the raw source, and what our
own site answers for each link. Development only: the views (views.py) refuse with DEBUG off."""

import hashlib
import re
import urllib.error
import urllib.request
from email.utils import format_datetime
from html.parser import HTMLParser
from urllib.parse import urlsplit

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from ..conf import settings
from ..models import OutboundEmail
from ..outbox.message import from_payload
from .preview import outbound_payload
from .search import search_filter

URL = re.compile(r"https?://[^\s<>\"'`]+")
CODE_LINE = re.compile(r"\s*(\d{4,12})\s*")
TRAILING = ".,;:!?)]}'\""
# In the frame, a link opens a new tab: inside the frame it would meet X-Frame-Options: DENY.
FRAME_BASE = '<base target="_blank">'


def mailbox_search(query=""):
    """Rows that match `query` (the syntax of search.py), newest first. Raises SearchInvalid."""
    rows = OutboundEmail.objects.only("pk", "created_at", "recipients", "subject", "status", "read_at")
    return rows.filter(search_filter(query.strip()))


def mailbox_read_set(*, email, read=True):
    """Mark the row read (the first time only) or unread again in the dev mailbox."""
    read_at = (email.read_at or timezone.now()) if read else None
    if read_at != email.read_at:
        OutboundEmail.objects.filter(pk=email.pk).update(read_at=read_at)
        email.read_at = read_at
    return email


def _url_clean(url):
    return url.rstrip(TRAILING)


class _Hrefs(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href.strip())


def message_links(preview):
    """Every link of the message, HTML part first, each once."""
    parser = _Hrefs()
    parser.feed(preview.html or "")
    found = [*parser.hrefs, *(_url_clean(url) for url in URL.findall(preview.text or ""))]
    return list(dict.fromkeys(found))


def message_codes(preview):
    """The lines of the text part that are nothing but a code (4 to 12 digits)."""
    return list(
        dict.fromkeys(m.group(1) for line in (preview.text or "").splitlines() if (m := CODE_LINE.fullmatch(line)))
    )


def text_linked(text):
    """The text part, escaped, with each URL a link that opens in a new tab."""
    parts, last = [], 0
    for match in URL.finditer(text or ""):
        url = _url_clean(match.group(0))
        end = match.start() + len(url)
        parts.append(escape(text[last : match.start()]))
        parts.append(f'<a href="{escape(url)}" target="_blank" rel="noopener noreferrer">{escape(url)}</a>')
        last = end
    parts.append(escape((text or "")[last:]))
    return mark_safe("".join(parts))  # noqa: S308  (every piece above is escaped)


def html_for_frame(html):
    """The HTML part as the frame shows it: links open a new tab, outside the frame."""
    head = re.search(r"<head[^>]*>", html, flags=re.IGNORECASE)
    if head:
        return html[: head.end()] + FRAME_BASE + html[head.end() :]
    return FRAME_BASE + html


def message_source(email):
    """The message as the provider would receive it (RFC 5322 bytes), or None when its content is
    unreadable (encrypted under a key that is gone)."""
    payload = outbound_payload(email)
    if payload is None or "subject" not in payload:
        return None
    message = from_payload(payload)
    if not any(name.lower() == "date" for name in payload.get("headers", {})):
        # The Date the delivery gave it, not the time of this reading.
        message.extra_headers["Date"] = format_datetime(email.sent_at or email.created_at)
    mime = message.message()
    # Fixed boundaries, so that every reading (the raw view, the .eml, a release) is the same bytes.
    seed = f"{email.pk}:{email.created_at.isoformat()}"
    for index, part in enumerate(mime.walk()):
        if part.is_multipart():
            part.set_boundary("=_mailbox_" + hashlib.sha256(f"{seed}:{index}".encode()).hexdigest()[:24])
    return mime.as_bytes(policy=mime.policy.clone(linesep="\r\n"))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer: reported, not followed


def link_status(url, *, timeout=10):
    """What our own site answers for `url`: (status code or None, note). Only links to SITE_URL are
    requested, anonymously, over HTTP from the server as a reader's browser would, so a link to a
    port nothing listens on is reported as such; another site's links are listed, not fetched."""
    site = urlsplit(settings.SITE_URL)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return None, _("not a web link")
    if (parts.scheme, parts.netloc) != (site.scheme, site.netloc):
        return None, _("another site: not checked")
    opener = urllib.request.build_opener(_NoRedirects)
    request = urllib.request.Request(url, headers={"User-Agent": "mailsite dev mailbox link check"})  # noqa: S310 (http(s) to SITE_URL only, checked above)
    try:
        with opener.open(request, timeout=timeout) as response:
            status, location = response.status, ""
    except urllib.error.HTTPError as error:  # 3xx (not followed), 4xx and 5xx
        status, location = error.code, error.headers.get("Location", "")
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return None, _("no answer from %(site)s: %(reason)s") % {"site": site.netloc, "reason": reason}
    return status, (_("redirects to %(url)s") % {"url": location}) if location else ""
