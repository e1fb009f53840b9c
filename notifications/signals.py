"""Signal receivers of the notifications app (tracking webhooks connect here)."""

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.signals import tracking as anymail_tracking
from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.shortcuts import resolve_url
from django.utils.html import format_html
from django.utils.translation import gettext as _

from .conf import settings
from .tracking.services import tracking_event_record
from .tracking.suppression import suppression_is_active

# Providers whose tracking events we record, and whether that needs the basic-auth secret.
TRUSTED_ESPS = {"Mailgun": False, "Amazon SES": True}


@receiver(anymail_tracking, dispatch_uid="notifications.tracking_event")
def tracking_event(sender, event, esp_name, **kwargs):
    """Record events from the providers we send through, once their webhook proved who it is:
    Mailgun signs every post; SNS (for SES) only proves itself by the basic-auth secret."""
    if esp_name not in TRUSTED_ESPS:
        raise AnymailWebhookValidationFailure(f"Tracking events from {esp_name} are not accepted here.")
    if TRUSTED_ESPS[esp_name] and not settings.ANYMAIL.get("WEBHOOK_SECRET"):
        raise AnymailWebhookValidationFailure(
            f"{esp_name} tracking events need ANYMAIL_WEBHOOK_SECRET to be set (and used in the webhook URL)."
        )
    tracking_event_record(event=event, esp_name=esp_name)


@receiver(user_logged_in, dispatch_uid="notifications.warn_suppressed_address")
def warn_suppressed_address(sender, request, user, **kwargs):
    """Mail to this user's address bounces or was reported as spam: ask them to fix it."""
    address = getattr(user, "email", "")
    if request is None or not address or not suppression_is_active(address):
        return
    text = _("Emails to %(address)s cannot be delivered, so we have stopped sending them.") % {"address": address}
    if settings.NOTIFICATIONS_EMAIL_CHANGE_URL:
        text = format_html(
            '{} <a href="{}">{}</a>',
            text,
            resolve_url(settings.NOTIFICATIONS_EMAIL_CHANGE_URL),
            _("Please check or change your email address."),
        )
    messages.warning(request, text, fail_silently=True)
