"""The dev mailbox's message page as Mailpit's: attachments listed and downloadable with image
thumbnails, every header of the message's bytes, the HTML source highlighted, and read/unread."""

import email.utils
import html
import re
import struct
import zlib

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from notifications.dev.parts import html_highlighted
from notifications.models import OutboundEmail

pytestmark = pytest.mark.django_db


def png(width=4, height=3):
    """A real PNG (red pixels), made here: no image library needed."""
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def send_with_attachments():
    message = mail.EmailMultiAlternatives("Invoice", "See attached.", "Site <site@example.com>", ["ada@example.com"])
    message.attach_alternative('<h1 class="t">Invoice</h1><!-- note --><script>alert(1)</script>', "text/html")
    message.attach("chart.png", png(), "image/png")
    message.attach("invoice.pdf", b"%PDF-1.4 not really", "application/pdf")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    message.attach("logo.svg", svg, "image/svg+xml")
    message.send()
    return OutboundEmail.objects.latest("id")


def attachment_url(row, index):
    return reverse("notifications:mailbox-attachment", args=[row.pk, index])


@override_settings(DEBUG=True)
def test_attachments_are_listed_downloadable_and_images_have_a_thumbnail(client):
    row = send_with_attachments()
    page = client.get(reverse("notifications:mailbox-detail", args=[row.pk])).content.decode()

    assert "3 attachments" in page
    links = dict(re.findall(r'<a href="(/dev/mailbox/\d+/attachments/\d+/)" download="([^"]+)"', page))
    assert sorted(links.values()) == ["chart.png", "invoice.pdf", "logo.svg"]
    by_name = {name: url for url, name in links.items()}

    download = client.get(by_name["chart.png"])
    assert download.status_code == 200 and download["Content-Type"] == "image/png"
    assert download.content == png()
    assert download["Content-Disposition"] == 'attachment; filename="chart.png"'
    assert client.get(by_name["invoice.pdf"]).content == b"%PDF-1.4 not really"

    # The PNG has a thumbnail, shown inline; the SVG (it could carry script) and the PDF do not.
    thumbnails = re.findall(r'<img class="thumbnail" src="([^"]+)"', page)
    assert thumbnails == [by_name["chart.png"] + "?inline=1"]
    inline = client.get(thumbnails[0])
    assert inline["Content-Disposition"] == 'inline; filename="chart.png"' and inline.content == png()
    svg = client.get(by_name["logo.svg"] + "?inline=1")
    assert svg["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in svg["Content-Security-Policy"]

    assert client.get(attachment_url(row, 99)).status_code == 404
    with override_settings(DEBUG=False):
        assert client.get(by_name["chart.png"]).status_code == 404


@override_settings(DEBUG=True)
def test_every_header_of_the_message_is_shown_with_its_send_date(client):
    row = send_with_attachments()
    first = client.get(reverse("notifications:mailbox-detail", args=[row.pk])).content.decode()
    headers = {name: html.unescape(value) for name, value in re.findall(r"<tr><th>([^<]+)</th><td>([^<]*)</td>", first)}

    assert headers["MIME-Version"] == "1.0"
    assert headers["Content-Type"].startswith("multipart/mixed; boundary=")
    assert headers["Message-ID"].startswith("<") and headers["To"] == "ada@example.com"
    # The Date is when the message was made, the same at every reading (not the time of the page).
    assert email.utils.parsedate_to_datetime(headers["Date"]) == row.created_at.replace(microsecond=0)
    again = client.get(reverse("notifications:mailbox-detail", args=[row.pk])).content.decode()
    assert dict(re.findall(r"<tr><th>([^<]+)</th><td>([^<]*)</td>", again))["Date"] == headers["Date"]


def test_the_html_source_is_escaped_and_highlighted():
    source = html_highlighted('<a href="x" data-x=1 hidden>Go</a><!-- c --><script>alert(1)</script>')

    assert '<span class="hl-tag">&lt;a</span> <span class="hl-attr">href</span>=' in source
    assert '<span class="hl-value">&quot;x&quot;</span>' in source
    assert '<span class="hl-attr">hidden</span>' in source
    assert '<span class="hl-comment">&lt;!-- c --&gt;</span>' in source
    assert "<script>" not in source and "&lt;script" in source


@override_settings(DEBUG=True)
def test_the_detail_page_shows_the_highlighted_html_source(client):
    row = send_with_attachments()
    page = client.get(reverse("notifications:mailbox-detail", args=[row.pk])).content.decode()
    source = page.split('<pre class="html-source">', 1)[1].split("</pre>", 1)[0]
    assert '<span class="hl-tag">&lt;h1</span> <span class="hl-attr">class</span>' in source
    assert "<script>" not in source


@override_settings(DEBUG=True)
def test_a_mail_is_unread_until_opened_and_can_be_marked_unread_again(client):
    row = send_with_attachments()

    def row_class():
        page = client.get(reverse("notifications:mailbox")).content.decode()
        return re.search(r'<tr class="(\w+)">\s*<td class="when', page)[1]

    assert row_class() == "unread"
    client.get(reverse("notifications:mailbox-detail", args=[row.pk]))
    row.refresh_from_db()
    opened = row.read_at
    assert opened is not None and row_class() == "read"
    client.get(reverse("notifications:mailbox-detail", args=[row.pk]))
    row.refresh_from_db()
    assert row.read_at == opened  # the first reading is kept

    assert client.post(reverse("notifications:mailbox-unread", args=[row.pk])).status_code == 302
    row.refresh_from_db()
    assert row.read_at is None and row_class() == "unread"
    assert client.get(reverse("notifications:mailbox-unread", args=[row.pk])).status_code == 405
