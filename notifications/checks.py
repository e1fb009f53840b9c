"""Checks: a follow rate limit or SNS settings that cannot be read; and, for deploys, tracking
webhooks that anyone could post to, a From address at localhost."""

import email.utils
import importlib.util

from django.core.checks import Error, Info, Warning, register

from .conf import settings
from .follows import limits

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


LOCAL_DOMAINS = ("localhost", "localdomain", "local", "example", "invalid", "test")


@register(deploy=True)
def from_address_is_public(app_configs, **kwargs):
    """DEFAULT_FROM_EMAIL at localhost gives every Message-ID an @localhost domain and a From
    address that receivers cannot verify (SPF, DKIM alignment) and people cannot answer."""
    domain = email.utils.parseaddr(str(settings.DEFAULT_FROM_EMAIL))[1].rpartition("@")[2].lower().rstrip(".")
    if not domain or domain.rpartition(".")[2] in LOCAL_DOMAINS or "." not in domain:
        return [
            Warning(
                f"DEFAULT_FROM_EMAIL ({settings.DEFAULT_FROM_EMAIL}) is not at a public domain: mail goes out "
                "from it, with Message-IDs at that domain, which receivers distrust and people cannot answer.",
                hint="Set DEFAULT_FROM_EMAIL to an address at your sending domain, e.g. "
                "mailsite <noreply@mail.example.com>.",
                id="notifications.W002",
            )
        ]
    return []


@register()
def follow_rate_limit_readable(app_configs, **kwargs):
    """A malformed NOTIFICATIONS_FOLLOW_RATE_LIMIT is refused at start-up, not at the first follow."""
    try:
        limits.rules()
    except (ValueError, KeyError, TypeError, AttributeError):
        return [
            Error(
                f"NOTIFICATIONS_FOLLOW_RATE_LIMIT ({settings.NOTIFICATIONS_FOLLOW_RATE_LIMIT!r}) is not a list of "
                "<count>/<period> rules.",
                hint='For example "30/m,300/h" (periods s, m, h, d or a number of seconds); "" turns the limit off.',
                id="notifications.E001",
            )
        ]
    return []


def _strings(value):
    return isinstance(value, (list, tuple)) and all(isinstance(item, str) and item for item in value)


@register()
def sns_settings_readable(app_configs, **kwargs):
    """The SNS check's settings are refused at start-up if they cannot be used, not at the first post."""
    import re

    errors = []
    if not _strings(settings.NOTIFICATIONS_SNS_TOPIC_ARNS):
        errors.append(
            Error(
                "NOTIFICATIONS_SNS_TOPIC_ARNS is not a list of topic ARNs.",
                hint='For example ["arn:aws:sns:us-east-1:123456789012:ses-events"]; [] accepts any signed topic.',
                id="notifications.E002",
            )
        )
    hosts = settings.NOTIFICATIONS_SNS_CERT_HOSTS
    try:
        readable = _strings(hosts) and all(re.compile(pattern) for pattern in hosts)
    except re.error:
        readable = False
    if not readable or not hosts:
        errors.append(
            Error(
                "NOTIFICATIONS_SNS_CERT_HOSTS is not a non-empty list of regular expressions.",
                hint=r'The default is [r"sns\.[a-z0-9-]+\.amazonaws\.com", r"sns\.[a-z0-9-]+\.amazonaws\.com\.cn"].',
                id="notifications.E003",
            )
        )
    return errors


@register()
def optional_packages(app_configs, **kwargs):
    """The extras a project's settings ask for, installed; and a word when metrics record nothing."""
    found = []
    if settings.NOTIFICATIONS_REDIS_URL and importlib.util.find_spec("redis") is None:
        found.append(
            Error(
                "NOTIFICATIONS_REDIS_URL is set, but the redis package is not installed.",
                hint="pip install 'mailsite-apps[redis]', or unset NOTIFICATIONS_REDIS_URL to keep the send "
                "rate in each process.",
                id="notifications.E004",
            )
        )
    if importlib.util.find_spec("prometheus_client") is None:
        found.append(
            Info(
                "prometheus-client is not installed: the outbox's Prometheus metrics record nothing.",
                hint="pip install 'mailsite-apps[prometheus]' to record them.",
                id="notifications.I001",
            )
        )
    return found
