"""The dev mailbox's checks of one email: HTML compatibility from caniemail's shipped data, a real
SpamAssassin score (a one-line note without it), and release to a real SMTP server (aiosmtpd),
refused outside the allow-list."""

import json
import re
import shutil

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from notifications.dev.compat import DATA, html_compatibility
from notifications.dev.release import ReleaseRefused, mailbox_release
from notifications.models import OutboundEmail

pytestmark = pytest.mark.django_db

FANCY = (
    "<!doctype html><html><head><style>@media (prefers-color-scheme: dark) { .x { color: #fff } }"
    "</style></head><body><div style=\"display:flex; margin:1rem\"><svg width='1' height='1'></svg>"
    '<img src="https://example.com/a.webp" alt=""><p>Hi</p></div></body></html>'
)


def send(subject="Hello", html=None, text="Hello Ada, here is your report.", to="ada@example.com"):
    message = mail.EmailMultiAlternatives(subject, text, "Site <site@example.com>", [to])
    if html:
        message.attach_alternative(html, "text/html")
    message.send()
    return OutboundEmail.objects.latest("id")


def test_the_shipped_data_is_caniemails_with_its_licence():
    data = json.loads(DATA.read_text())
    assert data["families"] == {"gmail": "Gmail", "outlook": "Outlook", "apple-mail": "Apple Mail"}
    assert "MIT" in (DATA.parent / "LICENSE-caniemail").read_text()
    flex = data["features"]["css-display-flex"]
    assert flex["url"] == "https://www.caniemail.com/features/css-display-flex/"
    assert flex["stats"]["outlook"]["windows"]["support"] == "n"


def test_the_check_flags_what_the_three_clients_do_not_support():
    flags = {flag.slug: flag for flag in html_compatibility(FANCY)}

    for slug in ("css-display-flex", "html-svg", "image-webp", "css-at-media-prefers-color-scheme", "css-unit-rem"):
        assert slug in flags, slug
    assert ("Outlook", "Windows", "n", []) in flags["css-display-flex"].clients
    assert {client for client, *_rest in flags["html-svg"].clients} >= {"Gmail", "Outlook"}
    assert "css-at-media-hover" not in flags  # a feature the email does not use is not reported
    # A plain paragraph of text uses nothing any of the three lacks.
    assert html_compatibility("<p>Hello</p>") == []


@override_settings(DEBUG=True)
def test_the_compatibility_page_lists_the_flags(client):
    row = send(html=FANCY)
    detail = client.get(reverse("notifications:mailbox-detail", args=[row.pk])).content.decode()
    count = len(html_compatibility(FANCY))
    assert f"HTML check: {count} warnings" in detail

    page = client.get(reverse("notifications:mailbox-compat", args=[row.pk])).content.decode()
    assert f"{count} features to check" in page
    assert 'data-slug="css-display-flex"' in page and "display:flex" in page
    plain = send(html="<p>Hello</p>")
    assert "No problem found" in client.get(reverse("notifications:mailbox-compat", args=[plain.pk])).content.decode()
    with override_settings(DEBUG=False):
        assert client.get(reverse("notifications:mailbox-compat", args=[row.pk])).status_code == 404


needs_spamassassin = pytest.mark.skipif(
    not (shutil.which("spamassassin") or shutil.which("spamc")), reason="SpamAssassin is not installed"
)


@needs_spamassassin
@override_settings(DEBUG=True)
def test_a_real_spam_score(client):
    spammy = send(
        "FREE MONEY NOW",
        text="Viagra cheap!!! Click here to win a million dollars, 100% free, act now.",
        html="<html><body><p><font color=red size=7>FREE VIAGRA</font></p></body></html>",
    )
    fine = send("Your report", text="Hello Ada,\n\nThe report you asked for is attached to your account.\n")

    def score(row):
        page = client.get(reverse("notifications:mailbox-spam", args=[row.pk])).content.decode()
        match = re.search(r'<span class="status (ok|bad)">(-?[\d.]+) / (-?[\d.]+)</span>', page)
        assert match, page
        rules = re.findall(r"<code>([A-Z0-9_]+)</code>", page)
        return match[1], float(match[2]), float(match[3]), rules

    verdict, points, required, rules = score(spammy)
    assert required == 5.0 and "DRUGS_ERECTILE" in rules and points >= 1.8
    fine_verdict, fine_points, _required, fine_rules = score(fine)
    assert fine_verdict == "ok" and fine_points < points and "DRUGS_ERECTILE" not in fine_rules
    # Our own Date and Message-ID are in the bytes: SpamAssassin's rules for their absence stay quiet.
    assert "MISSING_DATE" not in rules and "MISSING_MID" not in rules


@override_settings(DEBUG=True)
def test_without_spamassassin_a_one_line_note(client, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # neither spamc nor spamassassin on it
    row = send()
    note = "No spam score: SpamAssassin is not installed"
    assert note in client.get(reverse("notifications:mailbox-detail", args=[row.pk])).content.decode()
    page = client.get(reverse("notifications:mailbox-spam", args=[row.pk]))
    assert page.status_code == 200 and note in page.content.decode()


RELEASE = {"NOTIFICATIONS_MAILBOX_RELEASE_ALLOW": ["bob@example.org", "@example.net"]}


@override_settings(DEBUG=True, **RELEASE)
def test_release_sends_the_mail_as_it_is_to_a_real_server(client, smtp_server, settings):
    settings.NOTIFICATIONS_MAILBOX_RELEASE_SMTP = smtp_server.url
    row = send("Release me", html="<p>Released</p>")
    raw = client.get(reverse("notifications:mailbox-eml", args=[row.pk])).content

    url = reverse("notifications:mailbox-release", args=[row.pk])
    response = client.post(url, {"to": "Bob@Example.org, c@example.net"})

    assert response.status_code == 302
    (received,) = smtp_server.wait_for(1)
    assert received["rcpt_tos"] == ["Bob@Example.org", "c@example.net"]
    assert received["mail_from"] == "site@example.com"
    assert received["raw"] == raw  # the bytes the mailbox shows, unchanged
    follow = client.get(response["Location"]).content.decode()
    assert "Released to Bob@Example.org, c@example.net." in follow


@override_settings(DEBUG=True, **RELEASE)
def test_release_outside_the_allow_list_is_refused_and_sends_nothing(client, smtp_server, settings):
    settings.NOTIFICATIONS_MAILBOX_RELEASE_SMTP = smtp_server.url
    row = send()
    url = reverse("notifications:mailbox-release", args=[row.pk])

    outside = client.post(url, {"to": "bob@example.org, eve@evil.example"})
    assert outside.status_code == 400
    assert "Not allowed by NOTIFICATIONS_MAILBOX_RELEASE_ALLOW: eve@evil.example." in outside.content.decode()
    assert client.post(url, {"to": "not an address"}).status_code == 400
    assert client.post(url, {"to": " , "}).status_code == 400
    with pytest.raises(ReleaseRefused):
        mailbox_release(email=row, recipients=["bob@example.org.evil.example"])
    assert smtp_server.messages == []

    with override_settings(NOTIFICATIONS_MAILBOX_RELEASE_ALLOW=[]):
        off = client.post(url, {"to": "bob@example.org"})
        assert off.status_code == 400 and "Release is off" in off.content.decode()
        assert "Release is off" in client.get(url).content.decode()
    assert smtp_server.messages == []


@override_settings(DEBUG=True, **RELEASE)
def test_release_to_a_server_that_is_down_is_a_503(client, smtp_server, settings):
    settings.NOTIFICATIONS_MAILBOX_RELEASE_SMTP = smtp_server.url
    smtp_server.stop()
    row = send()
    response = client.post(reverse("notifications:mailbox-release", args=[row.pk]), {"to": "bob@example.org"})
    assert response.status_code == 503 and response["Retry-After"]
    assert "The release server failed" in response.content.decode()
