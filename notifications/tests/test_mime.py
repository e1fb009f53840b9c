"""The outbox writes the common message's MIME itself (transport.mime_build): byte for byte what
Django's path writes, so receivers see no difference; anything unusual takes Django's path."""

import email.policy
import re

import pytest
from django.core.mail import EmailMessage, EmailMultiAlternatives

from notifications.outbox.headers import outbox_policy
from notifications.outbox.message import OutboxMessage, from_payload, to_payload
from notifications.outbox.transport import _mime_direct, mime_build

POLICY = outbox_policy(email.policy.SMTP)
LONG_UNSUBSCRIBE = "<https://x.example/u/" + "t" * 120 + ">, <mailto:u@x.example?subject=" + "s" * 40 + ">"


def _alternatives(subject, body, html, **kwargs):
    message = EmailMultiAlternatives(subject, body, "Mailsite <noreply@x.example>", ["c@d.example"], **kwargs)
    message.attach_alternative(html, "text/html")
    return message


def _html_only():
    message = EmailMessage("s", "<p>html only</p>", "a@b.example", ["c@d.example"])
    message.content_subtype = "html"
    return message


COMMON = [
    lambda: _alternatives("News #1", "Hello,\n" + "Lorem ipsum dolor sit amet. " * 12, "<p>" + "x" * 300 + "</p>"),
    lambda: _alternatives("Héllo wörld", "ünïcode\n" + "€" * 100, "<p>hé</p>", headers={"X-Enc": "=?utf-8?q?abc?="}),
    lambda: _alternatives(
        "S", "text", "<p>t</p>", headers={"List-Unsubscribe": LONG_UNSUBSCRIBE, "List-Unsubscribe-Post": "One-Click"}
    ),
    lambda: OutboxMessage("Code 123456", "Your code: 123456\n", "a@b.example", ["j.doe@x.example"], template="code"),
    lambda: EmailMessage(
        "A subject line long enough that it has to be folded somewhere past the seventy-eighth column",
        "b",
        "a@b.example",
        ["Eve Smith <e@f.example>"] + ["c@d.example"] * 8,
        cc=["g@h.example"],
        reply_to=["r@s.example"],
        headers={"X-Spaces": "a  b", "Auto-Submitted": "auto-generated"},
    ),
    lambda: EmailMessage("s", "line\r\nwith crlf\rand cr\n\n\n", "a@b.example", ["c@d.example"]),
    lambda: EmailMessage("", "", "a@b.example", ["c@d.example"]),
    _html_only,
]


def _normalised(data):
    data = re.sub(rb"={15}\d+==", b"BOUNDARY", data)
    return re.sub(rb"(Date|Message-ID): [^\r]*", rb"\1: X", data)


@pytest.mark.parametrize("make", COMMON)
@pytest.mark.parametrize("stored", [False, True], ids=["as sent", "from the payload"])
def test_the_direct_writer_writes_what_djangos_path_writes(make, stored):
    message = from_payload(to_payload(make())) if stored else make()
    direct = _mime_direct(message, POLICY)
    assert direct is not None
    assert _normalised(direct) == _normalised(message.message(policy=POLICY).as_bytes())


def test_list_unsubscribe_is_folded_between_its_urls_on_the_direct_path():
    data = mime_build(_alternatives("S", "text", "<p>t</p>", headers={"List-Unsubscribe": LONG_UNSUBSCRIBE}))
    header = re.search(rb"List-Unsubscribe:.*?\r\n(?! )", data, re.S).group(0)
    assert header.startswith(b"List-Unsubscribe: <https://x.example/u/")
    assert b",\r\n <mailto:" in header and b"=?" not in header


@pytest.mark.parametrize(
    "make",
    [
        lambda: EmailMessage("s", "b", '"Quoted, Name" <a@b.example>', ["c@d.example"]),
        lambda: EmailMessage("s", "b", "a@b.example", ["c@dé.example"]),
        lambda: EmailMessage("s", "b", "a@b.example", ["c@d.example"], headers={"Date": "Mon, 1 Jan 2024 00:00:00"}),
        lambda: _alternatives("s", "", "<p>no text part</p>"),
    ],
    ids=["quoted name", "IDN domain", "own Date", "no text body"],
)
def test_unusual_messages_take_djangos_path(make):
    message = make()
    assert _mime_direct(message, POLICY) is None
    assert _normalised(mime_build(message)) == _normalised(message.message(policy=POLICY).as_bytes())
