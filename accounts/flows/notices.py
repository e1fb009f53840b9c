"""Security notices about second factors: a factor added or removed (by its owner or by staff),
recovery codes made or used or running low, a browser trusted. Each says when, from which IP and
browser, and links to the security page."""

from django.urls import reverse

from notifications.services import email_send

from ..links import URGENT, absolute
from ..origin import origin_context

EVENTS = (
    "factor_added",
    "factor_removed",
    "factors_removed_by_staff",
    "recovery_codes_generated",
    "recovery_code_used",
    "recovery_codes_low",
    "browser_trusted",
)


def mfa_notify(*, user, event, ip=None, user_agent="", factor="", left=None):
    """Mail `user` the notice for `event` (one of EVENTS). `factor` names the factor added or
    removed (its Authenticator kind); `left` is how many recovery codes are left."""
    if event not in EVENTS:
        raise ValueError(f"unknown second-factor notice {event!r}")
    email_send(
        template="mfa_notice",
        to=user.email,
        context={
            "user": user,
            "event": event,
            "factor": factor,
            "left": left,
            "security_url": absolute(reverse("accounts:security")),
            "reset_url": absolute(reverse("accounts:password-reset")),
            "origin": origin_context(ip=ip, user_agent=user_agent),
        },
        language=user.language,
        category=URGENT,
    )
