"""What crosses the wire, read as the other side reads it: the bytes an SMTP server received, the
form fields of Mailgun's API request and the JSON (and raw message) of Amazon SES's. Python's
email parser forgives what Gmail does not, so these tests read headers as text."""

import base64
import json
import uuid
from datetime import timedelta

import pytest
from anymail.message import AnymailMessage
from anymail.utils import UNSET
from django.core import mail
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from django.utils import timezone

from notifications.email_previews import follower_alert
from notifications.follows.services import unsubscribe_token_make
from notifications.models import OutboundEmail
from notifications.outbox import delivery
from notifications.outbox.message import ANYMAIL_ATTRS, OutboxMessage, from_payload, to_payload
from notifications.services import email_send

from .loopback import LoopbackHTTP, mailgun_api, mailgun_form, mailgun_transport
from .test_failover import chain, smtp_transport

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_client")]


def raw_headers(data):
    """{lower-cased name: [the field's text as sent, folds included]} from a message's bytes."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    fields, last = {}, ""
    for line in head.split("\r\n"):
        if line[:1] in (" ", "\t"):
            fields[last][-1] += "\r\n" + line
        else:
            last, _colon, value = line.partition(":")
            last = last.lower()
            fields.setdefault(last, []).append(value)
    return fields


def unfolded(value):
    return value.replace("\r\n", "").strip()


def send_alert(bob, *, language="en"):
    site = "https://mail.example.org"
    unsubscribe = f"{site}/notifications/unsubscribe/{unsubscribe_token_make(user=bob)}/"
    email_send(
        template="follower_alert",
        to=bob.email,
        context={**follower_alert(), "unsubscribe_url": unsubscribe},
        language=language,
        category="bulk",
        headers={"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    return unsubscribe


def deliver_all():
    ids = list(OutboundEmail.objects.filter(status="queued").values_list("pk", flat=True))
    return delivery.deliver_many(ids)


def assert_automatic_and_unsubscribable(fields, unsubscribe):
    (value,) = fields["list-unsubscribe"]
    assert "=?" not in value, value  # never an RFC 2047 encoded-word
    assert unfolded(value) == f"<{unsubscribe}>"
    assert len(f"<{unsubscribe}>") > 78  # long enough that Python's policies would have encoded it
    assert [unfolded(v) for v in fields["list-unsubscribe-post"]] == ["List-Unsubscribe=One-Click"]
    assert [unfolded(v) for v in fields["auto-submitted"]] == ["auto-generated"]
    assert [unfolded(v) for v in fields["x-auto-response-suppress"]] == ["All"]


# ------------------------------------------------------------------------------------------------
# SMTP: the bytes the server received
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_list_unsubscribe_reaches_the_smtp_server_as_a_plain_url(smtp_server, bob, language):
    with chain(smtp=smtp_transport(smtp_server.url)):
        unsubscribe = send_alert(bob, language=language)
        assert set(deliver_all().values()) == {"sent"}
    (received,) = smtp_server.wait_for(1)
    fields = raw_headers(received["raw"])
    assert_automatic_and_unsubscribable(fields, unsubscribe)
    # The retry path sends bytes built the same way.
    assert b"List-Unsubscribe: <https://" in received["raw"]


def test_a_list_of_unsubscribe_urls_folds_between_its_items(smtp_server):
    long = "https://mail.example.org/notifications/unsubscribe/" + "t" * 80 + "/"
    header = f"<{long}>, <mailto:unsubscribe@example.org?subject={'s' * 40}>"
    with chain(smtp=smtp_transport(smtp_server.url)):
        mail.EmailMessage(
            "Hi", "Body", "news@example.org", ["ann@example.com"], headers={"List-Unsubscribe": header}
        ).send()
        deliver_all()
    (value,) = raw_headers(smtp_server.wait_for(1)[0]["raw"])["list-unsubscribe"]
    assert "=?" not in value
    assert value.split("\r\n") == [f" <{long}>,", f" <mailto:unsubscribe@example.org?subject={'s' * 40}>"]


# ------------------------------------------------------------------------------------------------
# Amazon SES: the JSON request of the SESv2 API, and the raw message inside it
# ------------------------------------------------------------------------------------------------
def _ses_reply(request):
    return 200, "application/json", json.dumps({"MessageId": f"0100{uuid.uuid4().hex}-000000"})


def ses_transport(server, **options):
    return {
        "BACKEND": "anymail.backends.amazon_ses.EmailBackend",
        "OPTIONS": {
            "client_params": {
                "endpoint_url": server.url,
                "region_name": "us-east-1",
                "aws_access_key_id": "testing",
                "aws_secret_access_key": "testing",
            },
            **options,
        },
    }


def ses_sent(server):
    (request,) = server.requests
    assert request["path"] == "/v2/email/outbound-emails"
    body = json.loads(request["body"])
    return body, base64.b64decode(body["Content"]["Raw"]["Data"])


def test_ses_raw_message_carries_list_unsubscribe_as_a_plain_url(bob):
    with LoopbackHTTP(_ses_reply) as ses, chain(ses=ses_transport(ses)):
        unsubscribe = send_alert(bob, language="zh-hans")
        assert set(deliver_all().values()) == {"sent"}
        _body, raw = ses_sent(ses)
    assert_automatic_and_unsubscribable(raw_headers(raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")), unsubscribe)


def test_anymail_message_tags_and_metadata_reach_ses():
    with LoopbackHTTP(_ses_reply) as ses, chain(ses=ses_transport(ses, message_tag_name="Type")):
        AnymailMessage(
            "Your receipt",
            "Body",
            "shop@example.com",
            ["buyer@example.com"],
            tags=["welcome"],
            metadata={"order": "42"},
        ).send()
        assert set(deliver_all().values()) == {"sent"}
        body, raw = ses_sent(ses)
    assert body["EmailTags"] == [{"Name": "Type", "Value": "welcome"}]
    fields = raw_headers(raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    assert [unfolded(v) for v in fields["x-tag"]] == ["welcome"]
    assert json.loads(unfolded(fields["x-metadata"][0])) == {"order": "42"}


# ------------------------------------------------------------------------------------------------
# Mailgun: the form fields of the API request
# ------------------------------------------------------------------------------------------------
def test_anymail_message_attributes_reach_mailgun():
    with mailgun_api() as mailgun, chain(mailgun=mailgun_transport(mailgun)):
        AnymailMessage(
            "Your receipt",
            "Body",
            "shop@example.com",
            ["buyer@example.com", "other@example.com"],
            tags=["welcome", "receipt"],
            metadata={"order": "42"},
            merge_metadata={"buyer@example.com": {"line": "1"}, "other@example.com": {"line": "2"}},
            merge_headers={"buyer@example.com": {"X-Line": "1"}, "other@example.com": {"X-Line": "2"}},
            track_clicks=False,
            track_opens=True,
            esp_extra={"o:testmode": "yes"},
        ).send()
        assert set(deliver_all().values()) == {"sent"}
        (request,) = mailgun.requests
    fields = mailgun_form(request)
    assert fields["o:tag"] == ["welcome", "receipt"]
    assert fields["v:order"] == ["42"]
    assert fields["o:tracking-clicks"] == ["no"]
    assert fields["o:tracking-opens"] == ["yes"]
    assert fields["o:testmode"] == ["yes"]
    variables = json.loads(fields["recipient-variables"][0])
    assert variables["buyer@example.com"]["v:line"] == "1" and variables["other@example.com"]["v:line"] == "2"
    assert fields["h:X-Line"] == ["%recipient.h:X-Line%"]
    assert variables["other@example.com"]["h:X-Line"] == "2"


def test_anymail_template_and_merge_data_reach_mailgun():
    with mailgun_api() as mailgun, chain(mailgun=mailgun_transport(mailgun)):
        message = AnymailMessage(from_email="shop@example.com", to=["buyer@example.com"], template_id="receipt")
        message.merge_data = {"buyer@example.com": {"name": "Ann"}}
        message.merge_global_data = {"shop": "Corner"}
        message.send()
        assert set(deliver_all().values()) == {"sent"}
        (request,) = mailgun.requests
    fields = mailgun_form(request)
    assert fields["template"] == ["receipt"]
    variables = json.loads(fields["recipient-variables"][0])
    assert variables["buyer@example.com"]["name"] == "Ann"
    assert variables["buyer@example.com"]["shop"] == "Corner", fields


def test_send_at_holds_the_row_in_the_outbox_and_is_not_passed_on():
    when = timezone.now() + timedelta(hours=2)
    with mailgun_api() as mailgun, chain(mailgun=mailgun_transport(mailgun)):
        AnymailMessage("Later", "Body", "shop@example.com", ["buyer@example.com"], send_at=when).send()
        row = OutboundEmail.objects.get()
        assert row.next_attempt_at == when
        assert deliver_all() == {}  # not due: nothing leaves
        assert mailgun.requests == []

        OutboundEmail.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
        assert deliver_all() == {row.pk: "sent"}
        fields = mailgun_form(mailgun.requests[0])
    assert "o:deliverytime" not in fields


# ------------------------------------------------------------------------------------------------
# The payload: every Anymail attribute survives, UNSET included
# ------------------------------------------------------------------------------------------------
def round_trip(message):
    """The message as a worker rebuilds it from the stored row (JSON in the database)."""
    return from_payload(json.loads(json.dumps(to_payload(message))))


def test_every_anymail_attribute_survives_the_payload_and_unset_stays_unset():
    values = {
        "tags": ["a"],
        "metadata": {"order": "42"},
        "track_clicks": True,
        "track_opens": False,
        "envelope_sender": "bounces@example.com",
        "esp_extra": {"o:testmode": "yes"},
        "merge_data": {"ann@example.com": {"n": 1}},
        "merge_global_data": {"g": 2},
        "merge_headers": {"ann@example.com": {"X-N": "1"}},
        "merge_metadata": {"ann@example.com": {"m": "3"}},
        "template_id": "tpl",
    }
    assert set(values) == set(ANYMAIL_ATTRS)
    restored = round_trip(AnymailMessage("S", "B", "a@example.com", ["ann@example.com"], **values))
    assert {attr: getattr(restored, attr) for attr in ANYMAIL_ATTRS} == values

    bare = round_trip(AnymailMessage("S", "B", "a@example.com", ["ann@example.com"], tags=["t"]))
    assert bare.tags == ["t"]
    assert all(getattr(bare, attr) is UNSET for attr in ANYMAIL_ATTRS if attr != "tags")
    assert bare.send_at is UNSET


def test_outbox_message_declares_the_outbox_options():
    OutboxMessage(
        "Your code",
        "It is 615243",
        "a@example.com",
        ["ann@example.com"],
        category="bulk",
        sensitive=True,
        redact=["615243"],
        template="code",
    ).send()
    row = OutboundEmail.objects.get()
    assert (row.category, row.sensitive, row.template) == ("bulk", True, "code")
    assert row.payload == {} and "615243" not in row.payload_encrypted
    assert row.subject == "Your code"


def test_outbox_message_refuses_an_unknown_category():
    from notifications.outbox.message import InvalidMessage

    with pytest.raises(InvalidMessage):
        OutboxMessage("S", "B", "a@example.com", ["ann@example.com"], category="sometimes").send()
    assert not OutboundEmail.objects.exists()


# ------------------------------------------------------------------------------------------------
# Deploy check
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("address", ["mailsite <noreply@localhost>", "noreply@mailsite.local", "noreply@box"])
def test_deploy_check_warns_of_a_from_address_at_localhost(address):
    with override_settings(DEFAULT_FROM_EMAIL=address), pytest.raises(SystemCheckError, match="notifications.W002"):
        call_command("check", deploy=True, fail_level="WARNING")


def test_deploy_check_accepts_a_public_from_address():
    from notifications.checks import from_address_is_public

    with override_settings(DEFAULT_FROM_EMAIL="mailsite <noreply@mail.example.com>"):
        assert from_address_is_public(None) == []
