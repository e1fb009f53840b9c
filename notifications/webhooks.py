"""The providers' tracking webhooks we accept: Amazon SES (through SNS) and Mailgun.

Anymail's own views, with two changes: only these two are mounted (no other provider's endpoint
exists here), and a post whose body cannot be parsed is a 400 rather than a 500. An error while
recording a well-formed event still answers 500, so the provider retries it later.
"""

from anymail.exceptions import AnymailError, AnymailWebhookValidationFailure
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from django.http import HttpResponseBadRequest
from django.urls import path


class Malformed(Exception):
    pass


MALFORMED = (AnymailError, ValueError, KeyError, TypeError, AttributeError, RecursionError)


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
            return super().parse_events(request)
        except MALFORMED as error:
            raise Malformed(type(error).__name__) from error

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except Malformed as error:
            return HttpResponseBadRequest(f"Malformed webhook post ({error}).")


class SESTrackingWebhook(ParsedOr400, AmazonSESTrackingWebhookView):
    pass


class MailgunTrackingWebhook(ParsedOr400, MailgunTrackingWebhookView):
    pass


urlpatterns = [
    path("amazon_ses/tracking/", SESTrackingWebhook.as_view(), name="amazon_ses_tracking_webhook"),
    path("mailgun/tracking/", MailgunTrackingWebhook.as_view(), name="mailgun_tracking_webhook"),
]
