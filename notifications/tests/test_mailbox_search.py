"""The dev mailbox's search syntax: from:, to:, subject:, is:unread, has:attachment, before:,
after: and plain words, all combined with AND; a bad term is a message (a 400 in the API), never a
500; a sensitive mail's code is not searchable, and the empty result says why."""

import datetime
import re

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from notifications.models import OutboundEmail

pytestmark = pytest.mark.django_db


def send(subject, to="ada@example.com", sender="Site <site@example.com>", attach=False, sensitive=False):
    message = mail.EmailMultiAlternatives(subject, "Hello", sender, [to])
    if attach:
        message.attach("report.csv", b"a,b\n1,2\n", "text/csv")
    if sensitive:
        message.outbox_sensitive = True
        message.outbox_redact = ["482913"]
    message.send()
    return OutboundEmail.objects.latest("id")


def found(client, query):
    page = client.get(reverse("notifications:mailbox"), {"q": query}).content.decode()
    return re.findall(r'/dev/mailbox/\d+/">([^<]+)</a>', page)


@override_settings(DEBUG=True)
def test_each_term_and_their_combination(client):
    old = send("Old news", to="bob@example.com")
    OutboundEmail.objects.filter(pk=old.pk).update(created_at=datetime.datetime(2026, 1, 5, 12, tzinfo=datetime.UTC))
    send("Welcome Ada")
    send("Report for Ada", attach=True)
    send("Digest", to="bob@example.com", sender="Digest <digest@example.org>")
    read = send("Opened one")
    client.get(reverse("notifications:mailbox-detail", args=[read.pk]))

    assert found(client, "from:digest@") == ["Digest"]
    assert found(client, "to:bob@") == ["Digest", "Old news"]
    assert found(client, 'subject:"for ada"') == ["Report for Ada"]
    assert found(client, "has:attachment") == ["Report for Ada"]
    assert found(client, "is:read") == ["Opened one"]
    assert "Opened one" not in found(client, "is:unread") and "Welcome Ada" in found(client, "is:unread")
    assert found(client, "before:2026-01-06") == ["Old news"]
    assert found(client, "after:2026-01-06") == ["Opened one", "Digest", "Report for Ada", "Welcome Ada"]
    # AND: every term must match.
    assert found(client, "to:ada@ is:unread ada") == ["Report for Ada", "Welcome Ada"]
    assert found(client, "to:bob@ after:2026-01-06") == ["Digest"]
    assert found(client, "to:bob@ has:attachment") == []
    # An unknown key is a plain word.
    assert found(client, "news:x") == []


@override_settings(DEBUG=True)
def test_a_bad_term_is_a_message_not_an_error(client):
    send("Anything")
    for query, message in [("before:yesterday", "before: needs a date"), ("is:starred", "is:starred is not a search")]:
        response = client.get(reverse("notifications:mailbox"), {"q": query})
        assert response.status_code == 200 and message in response.content.decode()
    api = client.get("/api/v1/dev/mailbox/messages", {"q": "after:2026-13-01"})
    assert api.status_code == 400 and "after: needs a date" in api.json()["detail"]


@override_settings(DEBUG=True)
def test_a_sensitive_code_is_not_searchable_and_the_page_says_why(client):
    send("482913 is your code", sensitive=True)
    assert found(client, "subject:code") == ["[redacted] is your code"]
    page = client.get(reverse("notifications:mailbox"), {"q": "482913"}).content.decode()
    assert "No email matches" in page and "stored redacted, so a search for a code finds nothing" in page


@override_settings(DEBUG=True)
def test_the_api_takes_the_same_syntax(client):
    send("Report", attach=True)
    send("Plain")
    body = client.get("/api/v1/dev/mailbox/messages", {"q": "has:attachment"}).json()
    assert [m["subject"] for m in body["results"]] == ["Report"]
