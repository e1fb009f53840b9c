"""The dev mailbox: every outbound email, rendered, while DEBUG is on; nothing at all when it is off."""

import re
import subprocess
import sys

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from notifications.models import OutboundEmail
from testing.fixtures import BASE_DIR, worker_env

from .helpers import wait_status


def send_html(subject, to="reader@example.com"):
    message = mail.EmailMultiAlternatives(
        subject, f"Text of {subject}", "Site <site@example.com>", [to], headers={"X-Campaign": "spring"}
    )
    message.attach_alternative(f"<h1>HTML of {subject}</h1><script>alert(1)</script>", "text/html")
    message.send()
    return OutboundEmail.objects.latest("id")


@override_settings(DEBUG=True)
def test_the_list_shows_every_email_newest_first(client, db):
    for subject in ("First", "Second", "Third"):
        send_html(subject)

    response = client.get(reverse("notifications:mailbox"))

    assert response.status_code == 200
    subjects = re.findall(r'/dev/mailbox/\d+/">([^<]+)</a>', response.content.decode())
    assert subjects == ["Third", "Second", "First"]


@override_settings(DEBUG=True)
def test_the_detail_page_renders_html_in_a_sandbox_text_and_headers(client, db):
    row = send_html("Welcome")

    page = client.get(reverse("notifications:mailbox-detail", args=[row.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    iframe = re.search(r"<iframe[^>]*>", html).group(0)
    assert " sandbox=" in iframe and "allow-scripts" not in iframe
    assert reverse("notifications:mailbox-html", args=[row.pk]) in iframe
    assert "Text of Welcome" in html
    for header in ("Site &lt;site@example.com&gt;", "reader@example.com", "X-Campaign", "spring"):
        assert header in html

    frame = client.get(reverse("notifications:mailbox-html", args=[row.pk]))

    assert frame.status_code == 200
    assert b"<h1>HTML of Welcome</h1>" in frame.content
    policy = frame["Content-Security-Policy"]
    assert policy.startswith("sandbox ") and "allow-scripts" not in policy  # the mail's script never runs
    assert "default-src 'none'" in policy and "script-src" not in policy and "form-action 'none'" in policy


@override_settings(DEBUG=True)
def test_an_unknown_email_is_a_404(client, db):
    assert client.get(reverse("notifications:mailbox-detail", args=[999999])).status_code == 404


@override_settings(DEBUG=False)
def test_with_debug_off_the_mailbox_does_not_exist(client, db):
    row = send_html("Secret")
    for url in (
        reverse("notifications:mailbox"),
        reverse("notifications:mailbox-detail", args=[row.pk]),
        reverse("notifications:mailbox-html", args=[row.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"HTML of Secret" not in response.content


def test_sendtestemail_through_a_real_worker_shows_up_in_the_mailbox(worker_factory, smtp_server, client):
    worker_factory(smtp_url=smtp_server.url)

    result = subprocess.run(
        [sys.executable, "manage.py", "sendtestemail", "you@example.com"],
        cwd=BASE_DIR,
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    row = wait_status(OutboundEmail.objects.get().pk, "sent")
    assert smtp_server.wait_for(1)[0]["rcpt_tos"] == ["you@example.com"]
    with override_settings(DEBUG=True):
        listing = client.get(reverse("notifications:mailbox")).content.decode()
        detail = client.get(reverse("notifications:mailbox-detail", args=[row.pk])).content.decode()
    assert row.subject in listing and "you@example.com" in listing
    assert "If you&#x27;re reading this, it was successful." in detail


@pytest.mark.parametrize("keep", [True, False])
def test_a_sensitive_email_shows_its_code_only_while_kept(outbox, client, settings, keep):
    settings.NOTIFICATIONS_KEEP_SENSITIVE = keep
    message = mail.EmailMessage("Your code", "Code: 615243", "site@example.com", ["reader@example.com"])
    message.outbox_sensitive = True
    message.outbox_redact = ["615243"]
    message.send()
    outbox.deliver()

    with override_settings(DEBUG=True):
        row = OutboundEmail.objects.get()
        detail = client.get(reverse("notifications:mailbox-detail", args=[row.pk])).content.decode()

    assert ("Code: 615243" in detail) is keep
    assert ("Code: [redacted]" in detail) is not keep
