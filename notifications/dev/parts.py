"""What the dev mailbox reads out of a message's bytes, as a mail client would: every header, the
attachments, and the HTML part's source, highlighted on the server (no script, no CDN)."""

import email
import email.policy
import re
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import mark_safe

# Shown as a thumbnail, from our own origin: raster formats only (an SVG can carry script).
THUMBNAIL_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
BODY_TYPES = frozenset({"text/plain", "text/html"})

HTML_TOKEN = re.compile(r"(?P<comment><!--.*?-->)|(?P<tag></?[A-Za-z][^>]*>|<![^>]*>)", re.DOTALL)
TAG_PARTS = re.compile(r"^(</?[^\s>/]+)(.*?)(/?>)$", re.DOTALL)
ATTRIBUTE = re.compile(r"""(\s+)([^\s=/>]+)(?:(\s*=\s*)("[^"]*"|'[^']*'|[^\s>]+))?""")


@dataclass
class Attachment:
    index: int
    filename: str
    content_type: str
    content: bytes
    inline: bool

    @property
    def size(self):
        return len(self.content)

    @property
    def thumbnail(self):
        return self.content_type in THUMBNAIL_TYPES


def message_parse(source):
    return email.message_from_bytes(source, policy=email.policy.default)


def message_headers(message):
    """Every top-level header, in order, repeats included, each value decoded as a client shows it."""
    return [(name, str(value)) for name, value in message.items()]


def message_attachments(message):
    """Every part that is not the text or HTML body: attachments, inline images, forwarded mail.
    `index` is the part's place in the message's walk, so a download names one part for good."""
    found = []
    for index, part in enumerate(message.walk()):
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        if disposition != "attachment" and not filename and part.get_content_type() in BODY_TYPES:
            continue
        content = part.get_payload(decode=True) or b""
        name = filename or f"part-{index}.{part.get_content_subtype()}"
        found.append(Attachment(index, name, part.get_content_type(), content, disposition == "inline"))
    return found


def _tag_highlighted(tag):
    match = TAG_PARTS.match(tag)
    if not match:
        return f'<span class="hl-tag">{escape(tag)}</span>'
    name, attributes, end = match.groups()
    out = [f'<span class="hl-tag">{escape(name)}</span>']
    last = 0
    for attribute in ATTRIBUTE.finditer(attributes):
        out.append(escape(attributes[last : attribute.start()]))
        space, key, equals, value = attribute.groups()
        out.append(f'{escape(space)}<span class="hl-attr">{escape(key)}</span>')
        if equals:
            out.append(f'{escape(equals)}<span class="hl-value">{escape(value or "")}</span>')
        last = attribute.end()
    out.append(escape(attributes[last:]))
    out.append(f'<span class="hl-tag">{escape(end)}</span>')
    return "".join(out)


def html_highlighted(html):
    """The HTML source, escaped, with tags, attribute names, values and comments in spans."""
    out, last = [], 0
    for token in HTML_TOKEN.finditer(html or ""):
        out.append(escape(html[last : token.start()]))
        if token.group("comment"):
            out.append(f'<span class="hl-comment">{escape(token.group("comment"))}</span>')
        else:
            out.append(_tag_highlighted(token.group("tag")))
        last = token.end()
    out.append(escape((html or "")[last:]))
    return mark_safe("".join(out))  # noqa: S308  (every piece above is escaped)
