"""Tracking webhooks under /anymail/, posted as Mailgun and Amazon SNS (for SES) post them."""

import json
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from notifications.models import EmailEvent, OutboundEmail, Suppression, WebhookToken

from .loopback import (
    MAILGUN_SIGNING_KEY,
    TOPIC_ARN,
    WEBHOOK_SECRET,
    basic_auth,
    mailgun_event,
    mailgun_signed,
    ses_bounce,
    ses_complaint,
    ses_delivery,
    sns_api,
    sns_client_params,
    sns_signer,
    sns_subscription_confirmation,
)

MAILGUN_URL = "/anymail/mailgun/tracking/"
SES_URL = "/anymail/amazon_ses/tracking/"
ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY}

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("anymail_settings")]


@pytest.fixture
def anymail_settings():
    # SNS posts are signed by the test's own "Amazon" certificate (tests/loopback.py), which these trust.
    with override_settings(ANYMAIL=ANYMAIL, NOTIFICATIONS_SNS_TOPIC_ARNS=[TOPIC_ARN], **sns_signer().settings):
        yield


def sent_row(message_id, to="ann@example.com"):
    return OutboundEmail.objects.create(
        status="sent", from_email="noreply@example.com", recipients=to, subject="Hi", provider_message_id=message_id
    )


def post_mailgun(client, body, auth=True):
    extra = basic_auth() if auth else {}
    return client.post(MAILGUN_URL, data=json.dumps(body), content_type="application/json", **extra)


def post_sns(client, envelope, auth=True, secret=WEBHOOK_SECRET):
    body, headers = envelope
    extra = basic_auth(secret) if auth else {}
    return client.post(SES_URL, data=body, content_type="text/plain; charset=UTF-8", **headers, **extra)


# ------------------------------------------------------------------------------------------------
# Mailgun: basic auth and the signing key
# ------------------------------------------------------------------------------------------------
def test_mailgun_signed_delivered_event_is_recorded(client):
    row = sent_row("<20260122.1@mg.example.com>")
    body = mailgun_signed(mailgun_event("delivered", "ann@example.com", row.provider_message_id, code=250))

    assert post_mailgun(client, body).status_code == 200

    event = EmailEvent.objects.get()
    assert (event.email, event.event_type, event.provider, event.recipient) == (
        row,
        "delivered",
        "Mailgun",
        "ann@example.com",
    )
    assert event.event_id == body["signature"]["token"]
    assert event.raw["event-data"]["event"] == "delivered"
    row.refresh_from_db()
    assert row.status == "delivered"


def test_mailgun_bad_signature_is_refused_and_changes_nothing(client):
    row = sent_row("<20260122.2@mg.example.com>")
    body = mailgun_signed(mailgun_event("failed", "ann@example.com", row.provider_message_id, severity="permanent"))
    body["signature"]["signature"] = "0" * 64

    assert post_mailgun(client, body).status_code == 400
    forged = mailgun_signed(mailgun_event("delivered", "ann@example.com", row.provider_message_id), key="not-our-key")
    assert post_mailgun(client, forged).status_code == 400

    assert not EmailEvent.objects.exists() and not Suppression.objects.exists()
    row.refresh_from_db()
    assert row.status == "sent"


def test_mailgun_without_basic_auth_is_refused(client):
    row = sent_row("<20260122.3@mg.example.com>")
    body = mailgun_signed(mailgun_event("delivered", "ann@example.com", row.provider_message_id))

    assert post_mailgun(client, body, auth=False).status_code == 400
    wrong = client.post(
        MAILGUN_URL, data=json.dumps(body), content_type="application/json", **basic_auth("hooks:wrong")
    )
    assert wrong.status_code == 400
    assert not EmailEvent.objects.exists()


def test_mailgun_permanent_failure_bounces_and_suppresses(client):
    row = sent_row("<20260122.4@mg.example.com>", to="Gone@Example.com")
    event = mailgun_event(
        "failed",
        "Gone@Example.com",
        row.provider_message_id,
        severity="permanent",
        reason="bounce",
        code=550,
        text="5.1.1 The email account that you tried to reach does not exist",
    )
    assert post_mailgun(client, mailgun_signed(event)).status_code == 200

    row.refresh_from_db()
    assert row.status == "bounced"
    suppression = Suppression.objects.get()
    assert (suppression.address, suppression.reason, suppression.email) == ("gone@example.com", "hard-bounce", row)
    assert "does not exist" in suppression.detail
    assert suppression.first_event == suppression.last_event == EmailEvent.objects.get()


def test_mailgun_replayed_post_is_refused(client):
    """406 Not Acceptable, the answer after which Mailgun does not retry (a 400 would bring the
    same post back for hours)."""
    row = sent_row("<20260122.5@mg.example.com>")
    body = mailgun_signed(mailgun_event("complained", "ann@example.com", row.provider_message_id))
    assert post_mailgun(client, body).status_code == 200
    for _ in range(2):
        assert post_mailgun(client, body).status_code == 406
    assert EmailEvent.objects.count() == 1 and Suppression.objects.count() == 1
    row.refresh_from_db()
    assert row.status == "complained"


def test_a_captured_signature_cannot_vouch_for_another_body(client):
    """The attack: Mailgun signs only timestamp and token, so one captured signature block, put on
    a made-up complaint about any address, would suppress that address."""
    row = sent_row("<20260122.6@mg.example.com>")
    genuine = mailgun_signed(mailgun_event("delivered", "ann@example.com", row.provider_message_id))
    assert post_mailgun(client, genuine).status_code == 200

    forged = {**mailgun_event("complained", "victim@example.com", "<any@mg.example.com>")}
    forged["signature"] = genuine["signature"]
    assert post_mailgun(client, forged).status_code == 406  # a token already used

    assert not Suppression.objects.exists()
    assert list(EmailEvent.objects.values_list("event_type", flat=True)) == ["delivered"]


@pytest.mark.parametrize("skew", [-301, 301, -3600, 10**9])
def test_mailgun_timestamp_far_from_our_clock_is_refused(client, skew):
    row = sent_row("<20260122.7@mg.example.com>")
    event = mailgun_event("failed", "ann@example.com", row.provider_message_id, severity="permanent")
    body = mailgun_signed(event, timestamp=str(int(time.time()) + skew))

    assert post_mailgun(client, body).status_code == 400
    assert not EmailEvent.objects.exists() and not Suppression.objects.exists()
    assert not WebhookToken.objects.exists()


@pytest.mark.parametrize("skew", [-240, 240])
def test_mailgun_timestamp_within_the_window_is_accepted(client, skew):
    row = sent_row("<20260122.8@mg.example.com>")
    body = mailgun_signed(
        mailgun_event("delivered", "ann@example.com", row.provider_message_id),
        timestamp=str(int(time.time()) + skew),
    )
    assert post_mailgun(client, body).status_code == 200
    assert EmailEvent.objects.get().email == row


def test_the_stored_event_holds_no_signature(client):
    row = sent_row("<20260122.9@mg.example.com>")
    body = mailgun_signed(mailgun_event("delivered", "ann@example.com", row.provider_message_id))
    assert post_mailgun(client, body).status_code == 200

    event = EmailEvent.objects.get()
    assert "signature" not in event.raw
    assert body["signature"]["signature"] not in json.dumps(event.raw)
    assert event.event_id == body["signature"]["token"]  # still the event's id


def test_a_legacy_form_post_is_stored_without_its_signature(client):
    row = sent_row("<20260122.10@mg.example.com>")
    signed = mailgun_signed({})["signature"]
    form = {
        "event": "delivered",
        "recipient": "ann@example.com",
        "Message-Id": row.provider_message_id,
        **signed,
    }
    response = client.post(MAILGUN_URL, data=form, **basic_auth())
    assert response.status_code == 200
    event = EmailEvent.objects.get()
    assert (event.email, event.event_type) == (row, "delivered")
    assert "signature" not in event.raw and signed["signature"] not in json.dumps(event.raw)
    assert client.post(MAILGUN_URL, data=form, **basic_auth()).status_code == 406  # and good once


def _event_with(path, value):
    body = mailgun_event("failed", "ann@example.com", "<20260122.11@mg.example.com>", severity="permanent", code=550)
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


def signed_delivery(**signature):
    return mailgun_signed(mailgun_event("delivered", "a@example.com", "<m>"), **signature)


SIGNED_BUT_MALFORMED = {
    "NUL in the recipient": lambda: mailgun_signed(_event_with(["event-data", "recipient"], "ann\x00@example.com")),
    "NUL in a nested field": lambda: mailgun_signed(
        _event_with(["event-data", "delivery-status", "message"], "5.1.1 \x00")
    ),
    "NUL in a key": lambda: mailgun_signed(_event_with(["event-data", "user-variables"], {"a\x00": "b"})),
    "NUL in the token": lambda: signed_delivery(token="tok\x00en"),
    "event timestamp 1e300": lambda: mailgun_signed(_event_with(["event-data", "timestamp"], 1e300)),
    "event timestamp NaN": lambda: mailgun_signed(_event_with(["event-data", "timestamp"], "nan")),
    "signed timestamp 1e300": lambda: signed_delivery(timestamp=1e300),
    "signed timestamp a list": lambda: signed_delivery(timestamp=[1]),
    "signed timestamp true": lambda: signed_delivery(timestamp=True),
    "token a list": lambda: signed_delivery(token=["tok"]),
    "token too long": lambda: signed_delivery(token="t" * 256),
    "recipient a list": lambda: mailgun_signed(_event_with(["event-data", "recipient"], ["a@example.com"])),
    "event a list": lambda: mailgun_signed(_event_with(["event-data", "event"], ["failed"])),
    "message id a list": lambda: mailgun_signed(_event_with(["event-data", "message", "headers", "message-id"], [])),
    "description a list": lambda: mailgun_signed(_event_with(["event-data", "delivery-status", "description"], [1])),
    "mta response a number": lambda: mailgun_signed(_event_with(["event-data", "delivery-status", "message"], 550)),
    "event data a list": lambda: mailgun_signed({"event-data": []}),
    "signature block a list": lambda: {**mailgun_event("delivered", "a@example.com", "<m>"), "signature": []},
}


@pytest.mark.parametrize("case", SIGNED_BUT_MALFORMED)
def test_a_signed_but_malformed_post_is_a_400_not_a_500(client, case):
    body = SIGNED_BUT_MALFORMED[case]()
    response = post_mailgun(client, body)
    assert response.status_code == 400, response.content
    assert not EmailEvent.objects.exists() and not Suppression.objects.exists()


def test_a_post_whose_events_fail_to_record_leaves_its_token_for_the_retry(client, monkeypatch):
    """A 500 makes Mailgun retry the same post: the retry must not be taken for a replay."""
    from notifications import signals

    row = sent_row("<20260122.12@mg.example.com>")
    body = mailgun_signed(mailgun_event("delivered", "ann@example.com", row.provider_message_id))

    def database_trouble(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(signals, "tracking_event_record", database_trouble)
    client.raise_request_exception = False
    assert post_mailgun(client, body).status_code == 500
    assert not WebhookToken.objects.exists()

    monkeypatch.undo()
    assert post_mailgun(client, body).status_code == 200
    assert EmailEvent.objects.get().email == row
    assert WebhookToken.objects.get().token == body["signature"]["token"]


def test_used_tokens_are_pruned_once_their_timestamp_is_refused_anyway(client):
    from notifications.tasks import webhook_tokens_prune
    from notifications.tracking.services import WEBHOOK_MAX_SKEW

    now = timezone.now()
    for age in (0, WEBHOOK_MAX_SKEW, 2 * WEBHOOK_MAX_SKEW - 1, 2 * WEBHOOK_MAX_SKEW + 1, 86400):
        WebhookToken.objects.create(provider="Mailgun", token=f"t{age}", signed_at=now - timedelta(seconds=age))

    webhook_tokens_prune()

    kept = set(WebhookToken.objects.values_list("token", flat=True))
    assert kept == {"t0", f"t{WEBHOOK_MAX_SKEW}", f"t{2 * WEBHOOK_MAX_SKEW - 1}"}
    assert settings.CELERY_BEAT_SCHEDULE["webhook-tokens-prune"]["task"] == "notifications.tasks.webhook_tokens_prune"


# ------------------------------------------------------------------------------------------------
# Amazon SES through SNS: basic auth, subscription confirmation, Bounce and Complaint
# ------------------------------------------------------------------------------------------------
def test_sns_subscription_confirmation_is_confirmed_with_sns():
    from django.test import Client

    with sns_api() as sns, override_settings(ANYMAIL={**ANYMAIL, "AMAZON_SES_CLIENT_PARAMS": sns_client_params(sns)}):
        response = post_sns(Client(), sns_subscription_confirmation(token="tok-123"))
        assert response.status_code == 200
        assert len(sns.requests) == 1
        form = sns.requests[0]["body"].decode()
        assert "Action=ConfirmSubscription" in form and "Token=tok-123" in form
        assert "TopicArn=" + TOPIC_ARN.replace(":", "%3A") in form
        assert sns.requests[0]["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256")  # signed like any AWS call


def test_sns_subscription_confirmation_without_auth_is_not_confirmed(client):
    with sns_api() as sns, override_settings(ANYMAIL={**ANYMAIL, "AMAZON_SES_CLIENT_PARAMS": sns_client_params(sns)}):
        no_auth = post_sns(client, sns_subscription_confirmation(), auth=False)
        assert no_auth.status_code == 401  # SNS only sends credentials after a 401 challenge
        assert no_auth["WWW-Authenticate"].startswith("Basic")
        assert post_sns(client, sns_subscription_confirmation(), secret="hooks:wrong").status_code == 400
        assert sns.requests == []


def test_ses_bounce_notification_bounces_and_suppresses(client):
    row = sent_row("0100018d4a1b2c3d-11112222-3333-4444-5555-666677778888-000000", to="bob@example.com")
    assert post_sns(client, ses_bounce(row.provider_message_id, "bob@example.com")).status_code == 200

    row.refresh_from_db()
    assert row.status == "bounced"
    event = EmailEvent.objects.get()
    assert (event.provider, event.event_type, event.bounce, event.email) == ("Amazon SES", "bounced", "hard", row)
    assert event.mta_response == "smtp; 550 5.1.1 user unknown"
    assert event.raw["bounce"]["bounceType"] == "Permanent"
    assert Suppression.objects.get(address="bob@example.com").reason == "hard-bounce"


def test_ses_complaint_notification_suppresses_after_delivery(client):
    row = sent_row("0100018d4a1b2c3d-aaaabbbb-3333-4444-5555-666677778888-000000", to="carol@example.com")
    assert post_sns(client, ses_delivery(row.provider_message_id, "carol@example.com")).status_code == 200
    row.refresh_from_db()
    assert row.status == "delivered"

    assert post_sns(client, ses_complaint(row.provider_message_id, "carol@example.com")).status_code == 200
    row.refresh_from_db()
    assert row.status == "complained"
    suppression = Suppression.objects.get()
    assert (suppression.address, suppression.reason, suppression.email) == ("carol@example.com", "complaint", row)


def test_ses_transient_bounce_counts_as_soft(client):
    row = sent_row("0100018d4a1b2c3d-ccccdddd-3333-4444-5555-666677778888-000000", to="full@example.com")
    envelope = ses_bounce(row.provider_message_id, "full@example.com", bounce_type="Transient", sub_type="MailboxFull")
    assert post_sns(client, envelope).status_code == 200
    assert EmailEvent.objects.get().bounce == "soft"
    assert not Suppression.objects.exists()  # one soft bounce is not enough


def test_ses_notification_without_or_with_wrong_auth_is_refused(client):
    row = sent_row("0100018d4a1b2c3d-eeeeffff-3333-4444-5555-666677778888-000000", to="dan@example.com")
    assert post_sns(client, ses_bounce(row.provider_message_id, "dan@example.com"), auth=False).status_code == 401
    wrong = post_sns(client, ses_bounce(row.provider_message_id, "dan@example.com"), secret="hooks:wrong")
    assert wrong.status_code == 400
    assert not EmailEvent.objects.exists() and not Suppression.objects.exists()
    row.refresh_from_db()
    assert row.status == "sent"


def test_ses_notification_whose_headers_do_not_match_its_body_is_refused(client):
    body, headers = ses_bounce("0100018d-xyz-000000", "eve@example.com")
    headers["HTTP_X_AMZ_SNS_MESSAGE_ID"] = "another-message"
    response = client.post(SES_URL, data=body, content_type="text/plain", **headers, **basic_auth())
    assert response.status_code == 400
    assert not EmailEvent.objects.exists()


def test_event_for_an_unknown_message_is_kept_and_still_suppresses(client):
    assert post_sns(client, ses_bounce("not-one-of-ours-000000", "stranger@example.com")).status_code == 200
    event = EmailEvent.objects.get()
    assert event.email is None and event.message_id == "not-one-of-ours-000000"
    assert Suppression.objects.get().address == "stranger@example.com"


def test_ses_events_are_refused_while_no_webhook_secret_is_set(client, caplog):
    row = sent_row("0100018d4a1b2c3d-99990000-3333-4444-5555-666677778888-000000", to="fay@example.com")
    with override_settings(ANYMAIL={"MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY}):
        with pytest.warns(Warning, match="insecure"):  # Anymail's own warning about it
            response = post_sns(client, ses_bounce(row.provider_message_id, "fay@example.com"), auth=False)
    assert response.status_code == 400
    assert "need ANYMAIL_WEBHOOK_SECRET" in caplog.text
    assert not EmailEvent.objects.exists() and not Suppression.objects.exists()


def test_events_from_a_provider_we_do_not_use_are_refused(client):
    """Only the SES and Mailgun webhooks are mounted: another provider's post finds nothing."""
    row = sent_row("b7bc2f4a-e38e-4336-af7d-e6c392c2f817", to="gus@example.com")
    postmark_bounce = {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "MessageID": row.provider_message_id,
        "Email": "gus@example.com",
        "BouncedAt": "2026-01-27T14:59:38Z",
        "Description": "The server was unable to deliver your message",
        "Details": "smtp;550 5.1.1 unknown user",
    }
    response = client.post(
        "/anymail/postmark/tracking/", json.dumps(postmark_bounce), content_type="application/json", **basic_auth()
    )
    assert response.status_code == 404
    assert not EmailEvent.objects.exists() and not Suppression.objects.exists()


@pytest.mark.parametrize("url", [SES_URL, MAILGUN_URL])
@pytest.mark.parametrize(
    "body", ["", "not json", "{}", "[]", '{"Type": "Notification"}', '{"Type": "Notification", "Message": "x"}']
)
def test_a_malformed_post_is_a_400_not_a_500(client, url, body):
    with override_settings(ANYMAIL={**settings.ANYMAIL, "WEBHOOK_SECRET": WEBHOOK_SECRET}):
        response = client.post(url, data=body, content_type="application/json", **basic_auth())
    assert response.status_code == 400
    assert not EmailEvent.objects.exists()


def test_deploy_check_warns_when_webhooks_have_no_secret():
    from notifications.checks import tracking_webhooks_secured

    with override_settings(EMAIL_PROVIDER=["ses", "mailgun"], ANYMAIL={}):
        assert [w.id for w in tracking_webhooks_secured(None)] == ["notifications.W001"]
    with override_settings(EMAIL_PROVIDER=["ses"]):
        assert tracking_webhooks_secured(None) == []
    with override_settings(EMAIL_PROVIDER=["smtp"], ANYMAIL={}):
        assert tracking_webhooks_secured(None) == []
