"""System checks for delivery tracking: webhooks that anyone could post to."""

from django.core.checks import Warning, register

from .conf import settings

TRACKED_PROVIDERS = {"ses", "mailgun"}


@register(deploy=True)
def tracking_webhooks_secured(app_configs, **kwargs):
    providers = TRACKED_PROVIDERS & set(getattr(settings, "EMAIL_PROVIDER", []))
    if providers and not settings.ANYMAIL.get("WEBHOOK_SECRET"):
        return [
            Warning(
                "ANYMAIL_WEBHOOK_SECRET is not set: the tracking webhooks have no basic-auth secret, "
                "so Amazon SES events are refused and Mailgun's rest on their signature alone.",
                hint="Set ANYMAIL_WEBHOOK_SECRET=user:password and put it in the webhook URLs you give the "
                "provider, e.g. https://user:password@example.com/anymail/amazon_ses/tracking/.",
                id="notifications.W001",
            )
        ]
    return []
