"""Suppression end to end: a bounce arrives by webhook, the next send is suppressed before it
reaches the provider, an admin lifts it with a reason, and the next send goes out. Through
Anymail's real Mailgun backend against a loopback Mailgun API."""

import email.utils
import json
import string

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from notifications.models import OutboundEmail, Suppression
from notifications.outbox import delivery
from notifications.tracking.suppression import address_normalize
from testing.fixtures import OUTBOX_MAILERS

from .loopback import (
    MAILGUN_SIGNING_KEY,
    WEBHOOK_SECRET,
    basic_auth,
    mailgun_api,
    mailgun_event,
    mailgun_form,
    mailgun_signed,
    mailgun_transport,
)

ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY}


@pytest.fixture
def mailgun(db):
    """Mailgun is the (only) provider, and its webhooks are configured."""
    with mailgun_api() as server:
        mailers = {**OUTBOX_MAILERS, "transport-mailgun": mailgun_transport(server)}
        with override_settings(MAILERS=mailers, NOTIFICATIONS_TRANSPORTS=["transport-mailgun"], ANYMAIL=ANYMAIL):
            yield server
        delivery.transport_reset()


def send_and_deliver(to, subject):
    mail.send_mail(subject, "Body", "noreply@example.com", [to])
    row = OutboundEmail.objects.get(subject=subject)
    delivery.deliver_many([row.pk])
    row.refresh_from_db()
    return row


def bounce(client, row, recipient):
    event = mailgun_event(
        "failed",
        recipient,
        row.provider_message_id,
        severity="permanent",
        reason="bounce",
        code=550,
        text="5.1.1 mailbox does not exist",
    )
    response = client.post(
        "/anymail/mailgun/tracking/", json.dumps(mailgun_signed(event)), content_type="application/json", **basic_auth()
    )
    assert response.status_code == 200


def test_bounce_suppresses_then_admin_lifts_and_mail_flows_again(mailgun, client, admin_client, admin_user):
    first = send_and_deliver("Pat@Example.com", "first")
    assert first.status == "sent" and first.provider == "transport-mailgun"
    assert first.provider_message_id.endswith("@mg.example.com>")
    assert mailgun_form(mailgun.requests[0])["to"] == ["Pat@Example.com"]

    bounce(client, first, "Pat@Example.com")
    first.refresh_from_db()
    assert first.status == "bounced"
    suppression = Suppression.objects.get(address="pat@example.com")

    second = send_and_deliver("pat@example.com", "second")
    assert second.status == "suppressed"
    assert "pat@example.com" in second.last_error and "hard-bounce" in second.last_error
    assert len(mailgun.requests) == 1, "a suppressed address must never reach the provider"

    # The admin's lift action asks for a reason on an intermediate page.
    changelist = "/admin/notifications/suppression/"
    picked = {"action": "lift", "_selected_action": [suppression.pk]}
    page = admin_client.post(changelist, picked)
    assert page.status_code == 200 and b"Why may we write to these addresses again?" in page.content
    assert b"pat@example.com" in page.content
    blank = admin_client.post(changelist, {**picked, "apply": "1", "reason": "   "})
    assert blank.status_code == 200 and b"This field is required." in blank.content
    suppression.refresh_from_db()
    assert suppression.active

    done = admin_client.post(changelist, {**picked, "apply": "1", "reason": "Pat fixed the mailbox (ticket 42)"})
    assert done.status_code == 302
    suppression.refresh_from_db()
    assert not suppression.active
    assert suppression.lifted_reason == "Pat fixed the mailbox (ticket 42)" and suppression.lifted_by == admin_user

    third = send_and_deliver("pat@example.com", "third")
    assert third.status == "sent"
    assert len(mailgun.requests) == 2 and mailgun_form(mailgun.requests[1])["subject"] == ["third"]


def test_only_suppressed_recipients_are_dropped_from_a_message(mailgun):
    Suppression.objects.create(address="gone@example.com", reason="complaint")
    mail.EmailMessage(
        "Team news", "Body", "noreply@example.com", ["ok@example.com"], cc=["Gone <gone@example.com>"]
    ).send()
    row = OutboundEmail.objects.get()
    delivery.deliver_many([row.pk])
    row.refresh_from_db()
    assert row.status == "sent"
    assert "not sent to gone@example.com" in row.last_error
    fields = mailgun_form(mailgun.requests[0])
    assert fields["to"] == ["ok@example.com"] and "cc" not in fields


def test_suppression_admin_pages_render(admin_client, mailgun):
    row = send_and_deliver("sam@example.com", "hello")
    bounce(admin_client, row, "sam@example.com")
    suppression = Suppression.objects.get()
    assert admin_client.get("/admin/notifications/suppression/").status_code == 200
    assert admin_client.get("/admin/notifications/suppression/?state=active&reason=hard-bounce").status_code == 200
    detail = admin_client.get(f"/admin/notifications/suppression/{suppression.pk}/change/")
    assert detail.status_code == 200 and b"mailbox does not exist" in detail.content
    # The email's own page shows its event timeline; the outbox list filters by outcome.
    email_page = admin_client.get(f"/admin/notifications/outboundemail/{row.pk}/change/")
    assert email_page.status_code == 200 and b"elivery events (as the provider reported them)" in email_page.content
    assert b"5.1.1 mailbox does not exist" in email_page.content
    bounced = admin_client.get("/admin/notifications/outboundemail/?outcome=bounced")
    assert bounced.status_code == 200 and list(bounced.context["cl"].result_list) == [row]
    assert (
        list(admin_client.get("/admin/notifications/outboundemail/?outcome=delivered").context["cl"].result_list) == []
    )


@pytest.mark.usefixtures("redis_cache")
def test_a_user_whose_address_is_suppressed_is_asked_to_fix_it_at_log_in(client, db):
    user = get_user_model().objects.create_user("pat", "pat@example.com", "a long passphrase 42")
    user.email_confirmed_at = timezone.now()
    user.save()
    Suppression.objects.create(address="pat@example.com", reason="hard-bounce")

    response = client.post(
        "/accounts/login/", {"username": "pat@example.com", "password": "a long passphrase 42"}, follow=True
    )
    shown = [str(m) for m in response.context["messages"]]
    assert any("cannot be delivered" in m and 'href="/accounts/email/change/"' in m for m in shown), shown
    assert b'href="/accounts/email/change/"' in response.content


@pytest.mark.usefixtures("redis_cache")
def test_no_banner_when_the_address_is_fine_or_the_suppression_was_lifted(client, db):
    user = get_user_model().objects.create_user("lee", "lee@example.com", "a long passphrase 42")
    user.email_confirmed_at = timezone.now()
    user.save()
    Suppression.objects.create(address="lee@example.com", reason="complaint", lifted_at=timezone.now())

    response = client.post("/accounts/login/", {"username": "lee", "password": "a long passphrase 42"}, follow=True)
    assert response.context["user"].is_authenticated
    assert not any("cannot be delivered" in str(m) for m in response.context["messages"])


@given(
    st.one_of(
        st.emails(),
        st.text(alphabet=string.ascii_letters + string.digits + "._+-@<>() \"',;:", max_size=40),
        st.from_regex(r"[A-Za-z0-9_+.-]{1,12}@[A-Za-z0-9.-]{1,12}", fullmatch=True),
    )
)
@hypothesis_settings(max_examples=400, deadline=None)
def test_address_normalize_spells_every_address_as_parseaddr_does(address):
    """The shortcut for bare addresses gives parseaddr()'s answer, so stored and compared
    spellings never differ by the path they took."""
    _name, parsed = email.utils.parseaddr(address)
    assert address_normalize(address) == (parsed or address).strip().lower()
