"""The outbound email admin: filters, search, the message as its recipient sees it, requeue."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from notifications.models import OutboundEmail

from .helpers import wait_status

CHANGELIST = reverse("admin:notifications_outboundemail_changelist")


def make(to, subject, status="queued", category="urgent", **fields):
    message = mail.EmailMultiAlternatives(subject, f"Text of {subject}", "site@example.com", [to])
    message.attach_alternative(f"<p>HTML of {subject}</p>", "text/html")
    message.outbox_category = category
    message.send()
    row = OutboundEmail.objects.latest("id")
    OutboundEmail.objects.filter(pk=row.pk).update(status=status, **fields)
    row.refresh_from_db()
    return row


def listed(response):
    assert response.status_code == 200
    return sorted(re.findall(r'<th class="field-id"><a href="[^"]+">(\d+)</a>', response.content.decode()))


@pytest.fixture
def rows(db):
    return {
        "alice": make("alice@example.com", "Code for Alice"),
        "bob": make("bob@example.com", "Alert for Bob", status="failed", category="bulk", last_error="550 no"),
        "carol": make("carol@example.com", "Reset for Carol", status="sent"),
    }


def ids(*rows):
    return sorted(str(row.pk) for row in rows)


def test_changelist_filters_by_status_and_category(admin_client, rows):
    assert listed(admin_client.get(CHANGELIST)) == ids(*rows.values())
    assert listed(admin_client.get(CHANGELIST, {"status__exact": "failed"})) == ids(rows["bob"])
    assert listed(admin_client.get(CHANGELIST, {"category__exact": "urgent"})) == ids(rows["alice"], rows["carol"])


def test_changelist_searches_by_recipient(admin_client, rows):
    assert listed(admin_client.get(CHANGELIST, {"q": "carol@example"})) == ids(rows["carol"])
    assert listed(admin_client.get(CHANGELIST, {"q": "nobody@example.com"})) == []


def test_change_page_shows_the_message_as_the_recipient_sees_it(admin_client, rows):
    row = rows["alice"]

    page = admin_client.get(reverse("admin:notifications_outboundemail_change", args=[row.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    iframe = re.search(r"<iframe[^>]*>", html).group(0)
    html_url = reverse("admin:notifications_outboundemail_html", args=[row.pk])
    assert " sandbox=" in iframe and "allow-scripts" not in iframe and html_url in iframe
    assert "Text of Code for Alice" in html and "alice@example.com" in html and "site@example.com" in html

    frame = admin_client.get(html_url)
    assert frame.content == b'<base target="_blank"><p>HTML of Code for Alice</p>'
    assert "sandbox" in frame["Content-Security-Policy"]


def test_the_preview_needs_staff(client, rows):
    html_url = reverse("admin:notifications_outboundemail_html", args=[rows["alice"].pk])
    response = client.get(html_url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_emails_cannot_be_added_by_hand(admin_client, db):
    assert admin_client.get(reverse("admin:notifications_outboundemail_add")).status_code == 403


def test_requeue_sends_a_failed_email_again_and_leaves_sent_ones(worker_factory, smtp_server, admin_client):
    failed = make("bob@example.com", "Alert for Bob", status="failed", attempts=8, last_error="gave up")
    sent = make("carol@example.com", "Reset for Carol", status="sent", attempts=1)
    redacted = make("dan@example.com", "Code for Dan", status="failed", redacted=True)
    worker_factory(smtp_url=smtp_server.url)

    response = admin_client.post(
        CHANGELIST,
        {"action": "requeue", "_selected_action": [failed.pk, sent.pk, redacted.pk]},
        follow=True,
    )

    assert response.status_code == 200
    notices = [str(m) for m in response.context["messages"]]
    assert "1 email(s) requeued." in notices
    assert any(notice.startswith("2 email(s) left as they were") for notice in notices)
    row = wait_status(failed.pk, "sent")
    assert row.attempts == 1 and row.last_error == ""
    assert [m["message"]["Subject"] for m in smtp_server.wait_for(1)] == ["Alert for Bob"]
    assert OutboundEmail.objects.get(pk=sent.pk).status == "sent"
    assert OutboundEmail.objects.get(pk=redacted.pk).status == "failed"


def test_the_changelist_fits_a_row_on_one_line(admin_client, rows):
    """Short category labels (the long one in a tooltip), subjects cut to fit, dates that do not
    wrap: at 1,400 px the created column stays in view."""
    make("dan@example.com", "A subject " * 20)

    page = admin_client.get(CHANGELIST).content.decode()

    assert (
        '<td class="field-category_label"><span title="urgent (codes, links, security notices)">urgent</span>' in page
    )
    assert '<span title="bulk (alerts, digests)">bulk</span>' in page
    shown = re.search(r'<td class="field-subject_short"><span title="(A subject [^"]+)">([^<]+)</span>', page)
    assert shown[1].strip() == ("A subject " * 20).strip() and len(shown[2]) == 60 and shown[2].endswith("…")
    assert "notifications/admin/outbox.css" in page


def test_a_read_only_email_has_no_save_buttons(admin_client, rows):
    page = admin_client.get(reverse("admin:notifications_outboundemail_change", args=[rows["alice"].pk]))

    html = page.content.decode()
    assert page.status_code == 200
    for button in ('name="_save"', 'name="_continue"', 'name="_addanother"'):
        assert button not in html, button
