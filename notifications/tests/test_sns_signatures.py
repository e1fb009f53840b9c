"""Amazon SNS posts are believed only when Amazon signed them (notifications/tracking/sns.py).

The "Amazon" here is the test's own: an RSA signing key whose certificate is served over HTTPS on
loopback by a server with a TLS certificate from a test CA (trustme), and settings that trust that
host and CA. Everything else is the real path: Anymail's SES view, our checks, the database.
"""

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from notifications.models import EmailEvent, OutboundEmail, Suppression, WebhookToken
from notifications.tracking.sns import cert_cache_clear

from .loopback import (
    TOPIC_ARN,
    WEBHOOK_SECRET,
    basic_auth,
    ses_bounce,
    sns_api,
    sns_client_params,
    sns_message,
    sns_post,
    sns_signer,
    sns_subscription_confirmation,
    sns_timestamp,
)

SES_URL = "/anymail/amazon_ses/tracking/"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def trusted(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET}
    settings.NOTIFICATIONS_SNS_TOPIC_ARNS = [TOPIC_ARN]
    for name, value in sns_signer().settings.items():
        setattr(settings, name, value)
    cert_cache_clear()
    yield
    cert_cache_clear()


def post(client, message):
    body, headers = sns_post(message)
    return client.post(SES_URL, data=body, content_type="text/plain; charset=UTF-8", **headers, **basic_auth())


def bounce_message(recipient="victim@example.com", **fields):
    """An unsigned SES bounce notification for `recipient`, as SNS carries it."""
    body, _headers = ses_bounce("0100018d-forged-000000", recipient)
    return {**json.loads(body), **fields}


def unsigned(message):
    signed = ("Signature", "SignatureVersion", "SigningCertURL")
    return {key: value for key, value in message.items() if key not in signed}


def nothing_recorded():
    return not EmailEvent.objects.exists() and not Suppression.objects.exists() and not WebhookToken.objects.exists()


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_genuine_notification_is_recorded_for_each_signature_version(client, version):
    row = OutboundEmail.objects.create(
        status="sent", from_email="noreply@example.com", recipients="bob@example.com", provider_message_id="m-1"
    )
    body, _headers = ses_bounce("m-1", "bob@example.com")
    message = sns_signer().sign(unsigned(json.loads(body)), version=version)
    response = post(client, message)
    assert response.status_code == 200, response.content
    row.refresh_from_db()
    assert row.status == "bounced"
    assert Suppression.objects.get().address == "bob@example.com"
    assert WebhookToken.objects.get().token == message["MessageId"]


def test_the_certificate_is_fetched_once_and_then_cached(client):
    signer = sns_signer()
    before = len(signer.fetches)
    for _ in range(3):
        assert post(client, signer.sign(unsigned(bounce_message()))).status_code == 200
    assert len(signer.fetches) == before + 1


@pytest.mark.parametrize("field", ["Message", "MessageId", "Timestamp", "Type"])
def test_a_tampered_field_is_refused_and_records_nothing(client, field, caplog):
    message = sns_signer().sign(unsigned(bounce_message()))
    changed = {
        "Message": message["Message"].replace("victim@", "other@"),
        "MessageId": message["MessageId"][:-1] + ("0" if message["MessageId"][-1] != "0" else "1"),
        "Timestamp": sns_timestamp(datetime.now(UTC) - timedelta(seconds=5)),
        "Type": "UnsubscribeConfirmation",
    }[field]
    tampered = {**message, field: changed}
    if field == "Type":
        tampered.update(SubscribeURL="https://sns.us-east-1.amazonaws.com/?Action=x", Token="t")
    with caplog.at_level(logging.WARNING, logger="django.security"):
        response = post(client, tampered)
    assert response.status_code == 400
    assert b"signature check failed" in response.content
    assert "SNS signature check failed" in caplog.text
    assert nothing_recorded()


def test_a_message_signed_by_another_key_is_refused(client):
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = post(client, sns_signer().sign(unsigned(bounce_message()), key=other_key))
    assert response.status_code == 400 and b"signature check failed" in response.content
    assert nothing_recorded()


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:{port}/SimpleNotificationService-test.pem",  # plain HTTP
        "https://127.0.0.1:{port}/SimpleNotificationService-test.pem",  # a host not allowed (same server)
        "https://localhost.evil.example:{port}/SimpleNotificationService-test.pem",
        "https://localhost:{port}/SimpleNotificationService-test.txt",
        "https://localhost:{port}/SimpleNotificationService-test.pem?x=1",
        "https://user:pw@localhost:{port}/SimpleNotificationService-test.pem",
    ],
)
def test_a_certificate_url_that_is_not_https_on_an_allowed_host_is_refused_without_a_fetch(client, url):
    signer = sns_signer()
    before = len(signer.fetches)
    message = signer.sign(unsigned(bounce_message()), cert_url=url.format(port=signer.port))
    response = post(client, message)
    assert response.status_code == 400
    assert b"certificate URL check failed" in response.content
    assert len(signer.fetches) == before
    assert nothing_recorded()


def test_the_default_hosts_are_amazons_own(settings):
    from notifications.conf import DEFAULTS
    from notifications.tracking.sns import SNSVerificationFailed, cert_url_check

    settings.NOTIFICATIONS_SNS_CERT_HOSTS = DEFAULTS["NOTIFICATIONS_SNS_CERT_HOSTS"]
    cert_url_check("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem")
    cert_url_check("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem")
    for bad in [
        "https://sns.us-east-1.amazonaws.com.evil.com/SimpleNotificationService-abc.pem",
        "https://evil.com/sns.us-east-1.amazonaws.com/x.pem",
        "https://s3.amazonaws.com/SimpleNotificationService-abc.pem",
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
    ]:
        with pytest.raises(SNSVerificationFailed):
            cert_url_check(bad)


def test_a_certificate_host_whose_tls_is_not_trusted_is_refused(client, settings):
    settings.NOTIFICATIONS_SNS_CERT_CA_FILE = None  # the test CA is no longer trusted
    response = post(client, sns_signer().sign(unsigned(bounce_message())))
    assert response.status_code == 400 and b"certificate check failed" in response.content
    assert nothing_recorded()


def test_a_certificate_that_cannot_be_fetched_is_a_503_for_sns_to_retry(client):
    gone = sns_signer().url("/SimpleNotificationService-gone.pem")
    message = sns_signer().sign(unsigned(bounce_message()), cert_url=gone)
    response = post(client, message)
    assert response.status_code == 503
    assert response["Retry-After"].isdigit()
    assert nothing_recorded()


def test_a_message_from_another_topic_is_refused(client):
    other = "arn:aws:sns:us-east-1:999999999999:attacker-topic"
    message = sns_signer().sign(unsigned(bounce_message(TopicArn=other)))
    response = post(client, message)
    assert response.status_code == 400 and b"topic check failed" in response.content
    assert nothing_recorded()


def test_with_no_topic_list_any_signed_topic_is_accepted(client, settings):
    settings.NOTIFICATIONS_SNS_TOPIC_ARNS = []
    message = sns_signer().sign(unsigned(bounce_message(TopicArn="arn:aws:sns:eu-west-1:111111111111:mine")))
    assert post(client, message).status_code == 200
    assert Suppression.objects.exists()


@pytest.mark.parametrize("age", [timedelta(hours=1, seconds=5), timedelta(days=3), -timedelta(minutes=10)])
def test_a_stale_or_future_timestamp_is_refused(client, age):
    message = sns_signer().sign(unsigned(bounce_message(Timestamp=sns_timestamp(datetime.now(UTC) - age))))
    response = post(client, message)
    assert response.status_code == 400 and b"timestamp check failed" in response.content
    assert nothing_recorded()


def test_a_recent_timestamp_within_the_hour_is_accepted(client):
    when = sns_timestamp(datetime.now(UTC) - timedelta(minutes=55))
    message = sns_signer().sign(unsigned(bounce_message(Timestamp=when)))
    assert post(client, message).status_code == 200


def test_a_replayed_message_is_refused(client, caplog):
    message = sns_signer().sign(unsigned(bounce_message()))
    assert post(client, message).status_code == 200
    Suppression.objects.all().delete()
    EmailEvent.objects.all().delete()
    with caplog.at_level(logging.WARNING, logger="django.security"):
        again = post(client, message)
    assert again.status_code == 409
    assert "replay" in caplog.text
    assert not Suppression.objects.exists() and not EmailEvent.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"Signature": "not base64!!"},
        {"Signature": ""},
        {"SignatureVersion": "3"},
        {"SignatureVersion": 1},
        {"Signature": None},
        {"SigningCertURL": ["https://localhost/x.pem"]},
        {"Timestamp": "yesterday"},
        {"Timestamp": "2026-01-01T00:00:00"},  # no zone
        {"Subject": 7},
        {"MessageId": "x" * 300},
    ],
)
def test_malformed_signature_fields_are_a_400_not_a_500(client, change):
    message = {**sns_signer().sign(unsigned(bounce_message())), **change}
    body = json.dumps(message)
    headers = {
        "HTTP_X_AMZ_SNS_MESSAGE_TYPE": message["Type"],
        "HTTP_X_AMZ_SNS_MESSAGE_ID": message["MessageId"],
        "HTTP_X_AMZ_SNS_TOPIC_ARN": TOPIC_ARN,
    }
    response = client.post(SES_URL, data=body, content_type="text/plain", **headers, **basic_auth())
    assert response.status_code == 400
    assert nothing_recorded()


def test_the_certificate_must_be_valid_now(client):
    from cryptography.hazmat.primitives import serialization

    from .loopback import _signing_cert

    signer = sns_signer()
    expired = _signing_cert(signer.key, days=2, start=datetime.now(UTC) - timedelta(days=10))
    signer.files["/SimpleNotificationService-expired.pem"] = expired.public_bytes(serialization.Encoding.PEM)
    message = signer.sign(unsigned(bounce_message()), cert_url=signer.url("/SimpleNotificationService-expired.pem"))
    response = post(client, message)
    assert response.status_code == 400 and b"certificate check failed" in response.content


# ------------------------------------------------------------------------------------------------
# Subscriptions: confirmed only for a listed topic, and only once the signature checks out
# ------------------------------------------------------------------------------------------------
def confirm_with(client, envelope, settings):
    with sns_api() as sns:
        settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET, "AMAZON_SES_CLIENT_PARAMS": sns_client_params(sns)}
        body, headers = envelope
        response = client.post(SES_URL, data=body, content_type="text/plain", **headers, **basic_auth())
        return response, sns.requests


def test_a_signed_confirmation_for_a_listed_topic_is_confirmed(client, settings):
    response, calls = confirm_with(client, sns_subscription_confirmation(token="tok-ok"), settings)
    assert response.status_code == 200
    assert len(calls) == 1 and "Token=tok-ok" in calls[0]["body"].decode()


def test_a_confirmation_for_another_topic_is_refused_and_not_confirmed(client, settings):
    other = "arn:aws:sns:us-east-1:999999999999:attacker-topic"
    message = sns_signer().sign(
        sns_message(
            "SubscriptionConfirmation",
            TopicArn=other,
            Token="tok-evil",
            Message="You have chosen to subscribe.",
            SubscribeURL=f"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={other}&Token=tok-evil",
        )
    )
    response, calls = confirm_with(client, sns_post(message), settings)
    assert response.status_code == 400 and b"topic check failed" in response.content
    assert calls == []


def test_with_no_topic_list_a_confirmation_is_left_to_be_done_by_hand(client, settings, caplog):
    settings.NOTIFICATIONS_SNS_TOPIC_ARNS = []
    with caplog.at_level(logging.WARNING):
        response, calls = confirm_with(client, sns_subscription_confirmation(token="tok-hand"), settings)
    assert response.status_code == 200
    assert calls == []
    assert "confirm it by hand" in caplog.text


def test_an_unsigned_confirmation_with_the_right_password_is_not_confirmed(client, settings):
    body, headers = sns_subscription_confirmation(token="tok-forged")
    message = json.loads(body)
    message["Signature"] = message["Signature"][:-8] + "AAAAAAA="
    response, calls = confirm_with(client, (json.dumps(message), headers), settings)
    assert response.status_code == 400
    assert calls == []


def test_message_ids_are_kept_while_their_timestamp_is_accepted_then_pruned():
    from django.utils import timezone

    from notifications.tracking.services import SNS_PROVIDER, webhook_tokens_prune

    now = timezone.now()
    WebhookToken.objects.create(provider=SNS_PROVIDER, token="recent", signed_at=now - timedelta(minutes=50))
    WebhookToken.objects.create(provider=SNS_PROVIDER, token="old", signed_at=now - timedelta(hours=3))
    WebhookToken.objects.create(provider="Mailgun", token="mailgun-old", signed_at=now - timedelta(minutes=50))
    assert webhook_tokens_prune(now=now) == 2
    assert list(WebhookToken.objects.values_list("token", flat=True)) == ["recent"]


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("NOTIFICATIONS_SNS_TOPIC_ARNS", "arn:aws:sns:us-east-1:1:t", "notifications.E002"),
        ("NOTIFICATIONS_SNS_TOPIC_ARNS", [None], "notifications.E002"),
        ("NOTIFICATIONS_SNS_CERT_HOSTS", ["sns.(unclosed"], "notifications.E003"),
        ("NOTIFICATIONS_SNS_CERT_HOSTS", [], "notifications.E003"),
    ],
)
def test_unusable_sns_settings_stop_start_up(settings, name, value, error):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    setattr(settings, name, value)
    with pytest.raises(SystemCheckError, match=error):
        call_command("check")
