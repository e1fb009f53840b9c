"""The providers' tracking webhooks we accept: Amazon SES (through SNS) and Mailgun.

Anymail's own views, with these changes: only these two are mounted (no other provider's endpoint
exists here); a post that cannot be parsed, or whose event has the wrong shape, is a 400 rather
than a 500; an SNS post must also carry Amazon's signature, be recent, come from an allowed topic
and be seen once (tracking/sns.py), and a subscription is confirmed only for a listed topic; and
Mailgun's signature, which covers only a timestamp and a token, is not trusted beyond that: the
timestamp must be recent, each token is good once, and the signature block is not stored. An
error while recording a well-formed event still answers 500, so the provider retries it later.
"""

import json
import logging
import re
import time
from datetime import UTC, datetime

from anymail.exceptions import AnymailError, AnymailWebhookValidationFailure
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from django.db import transaction
from django.http import HttpResponse, HttpResponseBadRequest, QueryDict
from django.urls import path

from ..errors import NotificationsError
from .services import SNS_PROVIDER, WEBHOOK_MAX_SKEW, webhook_token_use
from .sns import SNSCertificateUnavailable, SNSVerificationFailed, auto_confirm_allowed, sns_verify

logger = logging.getLogger(__name__)
# Where Django logs a SuspiciousOperation; a forged or replayed SNS post is one.
security_logger = logging.getLogger("django.security.SNSVerificationFailed")


class Malformed(NotificationsError):
    pass


class Replayed(NotificationsError, AnymailWebhookValidationFailure):
    """A Mailgun token seen before: its events are recorded already, or it is a captured post."""


MALFORMED = (AnymailError, ValueError, KeyError, TypeError, AttributeError, ArithmeticError, RecursionError)
# What tracking_event_record stores as text; anything else there (a list, a number) is malformed.
TEXT_FIELDS = ("event_type", "event_id", "message_id", "recipient", "description", "mta_response", "reject_reason")


def has_nul(value):
    """PostgreSQL refuses NUL in text and in JSON, so a NUL anywhere would fail the insert (500)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, QueryDict):
        value = dict(value.lists())
    if isinstance(value, dict):
        return any(has_nul(key) or has_nul(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return any(has_nul(item) for item in value)
    return False


def event_check(event):
    for name in TEXT_FIELDS:
        value = getattr(event, name, None)
        if value is not None and not isinstance(value, str):
            raise Malformed(f"{name} is not a string")
    if has_nul(event.esp_event):
        raise Malformed("NUL character")


class ParsedOr400:
    """A malformed body is the sender's fault (400); only recording errors stay 500."""

    def run_validators(self, request):
        try:
            super().run_validators(request)
        except AnymailWebhookValidationFailure:
            raise  # Django answers 400 and logs it as a suspicious operation
        except MALFORMED as error:
            raise Malformed(type(error).__name__) from error

    def parse_events(self, request):
        try:
            events = super().parse_events(request)
            for event in events:
                event_check(event)
        except MALFORMED as error:
            raise Malformed(type(error).__name__) from error
        return events

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except Malformed as error:
            return HttpResponseBadRequest(f"Malformed webhook post ({error}).")


class SESTrackingWebhook(ParsedOr400, AmazonSESTrackingWebhookView):
    """Basic auth (Anymail), then Amazon's signature, the topic, the age and the MessageId."""

    retry_after = 60  # seconds, when the signing certificate cannot be fetched

    def post(self, request, *args, **kwargs):
        # The MessageId is used up only with the events it carries: a post that fails to record
        # (500) rolls back, and SNS's retry of the same message is still accepted.
        try:
            with transaction.atomic():
                return super().post(request, *args, **kwargs)
        except SNSVerificationFailed as error:
            security_logger.warning("webhook: %s", error)
            return HttpResponseBadRequest(f"{error}.", content_type="text/plain")
        except Replayed as error:
            security_logger.warning("webhook: %s", error)
            return HttpResponse(f"{error}.", status=409, content_type="text/plain")
        except SNSCertificateUnavailable as error:
            logger.warning("webhook: SNS signing certificate unavailable: %s", error)
            response = HttpResponse("The SNS signing certificate is unavailable; retry later.", status=503)
            response["Retry-After"] = str(self.retry_after)
            return response

    def run_validators(self, request):
        super().run_validators(request)  # basic auth, then Anymail's check of the SNS headers
        message = self._parse_sns_message(request)
        signed_at = sns_verify(message)
        if not TOKEN.fullmatch(message["MessageId"]):
            raise SNSVerificationFailed("format", "MessageId is not printable ASCII of at most 255 characters")
        if not webhook_token_use(provider=SNS_PROVIDER, token=message["MessageId"], signed_at=signed_at):
            raise Replayed("SNS MessageId was seen before (a replay)")

    def auto_confirm_sns_subscription(self, sns_message):
        if not auto_confirm_allowed(sns_message):
            logger.warning(
                "webhook: SNS subscription to %s not confirmed: the topic is not in NOTIFICATIONS_SNS_TOPIC_ARNS "
                "(confirm it by hand, or list it)",
                sns_message.get("TopicArn"),
            )
            return
        super().auto_confirm_sns_subscription(sns_message)


TOKEN = re.compile(r"[!-~]{1,255}")  # printable ASCII, as Mailgun's are; fits WebhookToken.token
TIMESTAMP = re.compile(r"[0-9]{1,12}")


class MailgunTrackingWebhook(ParsedOr400, MailgunTrackingWebhookView):
    """Anymail checks the signature; this refuses what a captured signature could still do."""

    max_skew = WEBHOOK_MAX_SKEW

    def post(self, request, *args, **kwargs):
        # The token is used up only with the events it carries: if recording them fails (500),
        # the transaction rolls back and Mailgun's retry of the same post is still accepted.
        try:
            with transaction.atomic():
                return super().post(request, *args, **kwargs)
        except Replayed as error:
            # 406 is the one answer after which Mailgun stops retrying: a post whose 200 it never
            # got is already recorded, and a captured one must not come back for eight hours.
            logger.warning("webhook: %s", error)
            return HttpResponse(f"{error}.", status=406, content_type="text/plain")

    def run_validators(self, request):
        super().run_validators(request)  # basic auth, then Anymail's signature check
        token, timestamp = self.signed_fields(request)
        if not isinstance(token, str) or not TOKEN.fullmatch(token):
            raise Malformed("token")
        if isinstance(timestamp, bool) or not TIMESTAMP.fullmatch(str(timestamp)):
            raise Malformed("timestamp")
        if abs(int(timestamp) - self.now()) > self.max_skew:
            raise AnymailWebhookValidationFailure("Mailgun webhook timestamp is too far from our clock")
        signed_at = datetime.fromtimestamp(int(timestamp), tz=UTC)
        if not webhook_token_use(provider=self.esp_name, token=token, signed_at=signed_at):
            raise Replayed("Mailgun webhook token was used before (a replay)")

    def parse_events(self, request):
        events = super().parse_events(request)
        for event in events:
            event.esp_event = self.unsigned(event.esp_event)
        return events

    @staticmethod
    def signed_fields(request):
        """(token, timestamp) exactly as Anymail's signature check read them."""
        if request.content_type == "application/json":
            block = json.loads(request.body.decode("utf-8"))["signature"]
            return block["token"], block["timestamp"]
        return request.POST["token"], request.POST["timestamp"]

    @staticmethod
    def unsigned(esp_event):
        """The event without its signature, so a stored event cannot be replayed by whoever reads it."""
        if isinstance(esp_event, QueryDict):  # legacy form posts: the signature is one field
            esp_event = esp_event.copy()
            esp_event.pop("signature", None)
            return esp_event
        return {key: value for key, value in esp_event.items() if key != "signature"}

    def now(self):
        return time.time()


urlpatterns = [
    path("amazon_ses/tracking/", SESTrackingWebhook.as_view(), name="amazon_ses_tracking_webhook"),
    path("mailgun/tracking/", MailgunTrackingWebhook.as_view(), name="mailgun_tracking_webhook"),
]
