"""The dev mailbox's tools: search, delete and clear, the raw source and .eml, links that open
outside the frame, codes, the link check, and the rows the list fetches. All of it is a 404 with
DEBUG off."""

import email
import re

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from notifications.dev.mailbox import link_status, message_codes, message_links, text_linked
from notifications.dev.preview import Preview
from notifications.models import OutboundEmail

pytestmark = pytest.mark.django_db


def send(subject, to="reader@example.com", text=None, html=None):
    message = mail.EmailMultiAlternatives(subject, text or f"Text of {subject}", "Site <site@example.com>", [to])
    if html:
        message.attach_alternative(html, "text/html")
    message.send()
    return OutboundEmail.objects.latest("id")


def listed_subjects(response):
    return re.findall(r'/dev/mailbox/\d+/">([^<]+)</a>', response.content.decode())


@override_settings(DEBUG=True)
def test_search_by_recipient_or_subject(client):
    send("Welcome Ada", to="ada@example.com")
    send("Your code", to="bob@example.com")
    send("Welcome Bob", to="bob@example.com")

    by_recipient = client.get(reverse("notifications:mailbox"), {"q": "BOB@example"})
    by_subject = client.get(reverse("notifications:mailbox"), {"q": "welcome"})
    nothing = client.get(reverse("notifications:mailbox"), {"q": "zebra"})

    assert listed_subjects(by_recipient) == ["Welcome Bob", "Your code"]
    assert listed_subjects(by_subject) == ["Welcome Bob", "Welcome Ada"]
    assert listed_subjects(nothing) == [] and "No email matches" in nothing.content.decode()


@override_settings(DEBUG=True)
def test_the_list_has_a_date_column(client):
    row = send("Dated")
    page = client.get(reverse("notifications:mailbox")).content.decode()
    assert f'<time datetime="{row.created_at.isoformat()}">' in page


@override_settings(DEBUG=True)
def test_the_fetched_rows_change_when_mail_arrives(client):
    send("First")
    before = client.get(reverse("notifications:mailbox-rows"))
    again = client.get(reverse("notifications:mailbox-rows"))
    send("Second")
    after = client.get(reverse("notifications:mailbox-rows"))

    signature = re.compile(r'data-signature="(\w+)"')
    assert signature.search(before.content.decode())[1] == signature.search(again.content.decode())[1]
    assert signature.search(before.content.decode())[1] != signature.search(after.content.decode())[1]
    assert listed_subjects(after) == ["Second", "First"]
    assert b"<html" not in after.content  # a fragment, swapped into the page


@override_settings(DEBUG=True)
def test_delete_one_and_clear_all(client):
    kept, gone = send("Kept"), send("Gone")

    response = client.post(reverse("notifications:mailbox-delete", args=[gone.pk]))

    assert response.status_code == 302
    assert list(OutboundEmail.objects.values_list("pk", flat=True)) == [kept.pk]
    assert client.get(reverse("notifications:mailbox-delete", args=[kept.pk])).status_code == 405

    send("Another")
    assert client.post(reverse("notifications:mailbox-clear")).status_code == 302
    assert not OutboundEmail.objects.exists()


@override_settings(DEBUG=False)
def test_with_debug_off_delete_and_clear_are_refused(client):
    row = send("Production mail")

    assert client.post(reverse("notifications:mailbox-delete", args=[row.pk])).status_code == 404
    assert client.post(reverse("notifications:mailbox-clear")).status_code == 404
    for name in ("mailbox-raw", "mailbox-eml", "mailbox-links"):
        assert client.get(reverse(f"notifications:{name}", args=[row.pk])).status_code == 404, name
    assert client.get(reverse("notifications:mailbox-rows")).status_code == 404
    assert OutboundEmail.objects.filter(pk=row.pk).exists()


@override_settings(DEBUG=True)
def test_the_eml_download_is_the_message_as_sent(client):
    row = send("Raw me", html="<p>Hello <b>HTML</b></p>")

    response = client.get(reverse("notifications:mailbox-eml", args=[row.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "message/rfc822"
    assert response["Content-Disposition"] == f'attachment; filename="mailbox-{row.pk}.eml"'
    parsed = email.message_from_bytes(response.content, policy=email.policy.default)
    assert parsed["Subject"] == "Raw me" and parsed["To"] == "reader@example.com"
    assert parsed["Message-ID"] == row.payload["headers"]["Message-ID"]
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Hello <b>HTML</b></p>"

    raw = client.get(reverse("notifications:mailbox-raw", args=[row.pk])).content.decode()
    assert "Subject: Raw me" in raw and "Message-ID: " in raw


@override_settings(DEBUG=True)
def test_an_unreadable_email_has_no_source(client):
    row = send("Gone away")
    OutboundEmail.objects.filter(pk=row.pk).update(payload={})

    assert client.get(reverse("notifications:mailbox-eml", args=[row.pk])).status_code == 404


@override_settings(DEBUG=True)
def test_links_open_outside_the_frame_and_codes_get_a_copy_button(client):
    text = "Your code:\n\n  482913\n\nOr open https://example.com/a?b=1&c=<2>, then stop."
    row = send(
        "Code inside", text=text, html="<html><head><title>t</title></head><body><a href='/x'>x</a></body></html>"
    )

    page = client.get(reverse("notifications:mailbox-detail", args=[row.pk])).content.decode()
    frame = client.get(reverse("notifications:mailbox-html", args=[row.pk])).content.decode()

    assert 'data-copy="482913"' in page
    assert '<a href="https://example.com/a?b=1&amp;c=" target="_blank" rel="noopener noreferrer">' in page
    assert "&lt;2&gt;" in page  # the rest of the text stays text
    assert frame.startswith('<html><head><base target="_blank">')


def test_text_links_are_escaped():
    linked = text_linked('see https://example.com/"onmouseover="alert(1) now <b>')
    assert 'href="https://example.com/"' in linked and "onmouseover" not in linked.split(">")[0]
    assert "&lt;b&gt;" in linked


def test_codes_and_links_are_found_once():
    preview = Preview(
        "s",
        "123456\nVisit https://example.com/x.\nhttps://example.com/x\n2024 was a year",
        '<a href="https://example.com/h">h</a><a href="mailto:a@example.com">m</a>',
    )
    assert message_codes(preview) == ["123456"]
    assert message_links(preview) == ["https://example.com/h", "mailto:a@example.com", "https://example.com/x"]


def test_the_link_check_asks_our_own_site_over_http(client, live_server, settings):
    settings.DEBUG = True
    settings.SITE_URL = site = live_server.url
    text = f"{site}/accounts/login/\n{site}/no/such/page/\n{site}/settings/notifications/\nhttps://elsewhere.example/\n"
    row = send("Links", text=text, html='<a href="mailto:help@example.com">help</a>')

    page = client.get(reverse("notifications:mailbox-links", args=[row.pk]))

    assert page.status_code == 200
    rows = page.content.decode().split("<tr>")[2:]
    statuses = {
        re.search(r'href="([^"]+)"', row)[1]: re.search(r'class="status \w+">(\d+)<|(—)', row)[1] for row in rows
    }
    assert statuses == {
        "mailto:help@example.com": None,
        "https://elsewhere.example/": None,
        f"{site}/accounts/login/": "200",
        f"{site}/no/such/page/": "404",
        f"{site}/settings/notifications/": "302",
    }
    assert link_status(f"{site}/settings/notifications/") == (
        302,
        "redirects to /accounts/login/?next=/settings/notifications/",
    )
    assert link_status("https://elsewhere.example/") == (None, "another site: not checked")
    assert link_status("mailto:help@example.com") == (None, "not a web link")


def test_a_link_to_our_site_where_no_server_answers_is_reported_dead(settings):
    """make run ADDRPORT=127.0.0.1:8001 with mail still linking to :8000: the check used to ask
    an in-process client, which ignores the port, and said 200."""
    from testing.servers import free_port

    settings.SITE_URL = site = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    status, note = link_status(f"{site}/accounts/login/", timeout=5)

    assert status is None
    assert note.startswith(f"no answer from 127.0.0.1:{site.rsplit(':', 1)[1]}: "), note
