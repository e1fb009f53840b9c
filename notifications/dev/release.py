"""Releasing one mail from the dev mailbox to a real SMTP server, as Mailpit does: the message's
bytes exactly as the mailbox shows them, to recipients the allow-list lets it reach.

The server is NOTIFICATIONS_MAILBOX_RELEASE_SMTP ("smtp://host:port", "smtp+starttls://...",
"smtps://..."; user and password in the URL, percent-encoded). NOTIFICATIONS_MAILBOX_RELEASE_ALLOW
lists the addresses ("ada@example.com") and domains ("@example.com") mail may go to; with either
setting empty, release is off. A developer's click waits for the server's answer, which is what
the tool is for; it is a DEBUG-only page, not a path users take."""

import smtplib
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

from django.utils.translation import gettext as _

from ..conf import settings
from ..errors import NotificationsError
from .mailbox import message_source

SCHEMES = {"smtp": (smtplib.SMTP, False), "smtp+starttls": (smtplib.SMTP, True), "smtps": (smtplib.SMTP_SSL, False)}


class ReleaseRefused(NotificationsError, ValueError):
    """The release is not allowed (off, or a recipient outside the allow-list): nothing was sent."""


class ReleaseFailed(NotificationsError):
    """The release server could not be reached, or refused the message."""


def _domain(address):
    domain = address.rpartition("@")[2].strip().rstrip(".")
    try:
        return domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return domain.lower()


def release_allowed(address):
    """Whether the allow-list lets a release reach `address` (exact address, or its domain)."""
    address = address.strip()
    for entry in settings.NOTIFICATIONS_MAILBOX_RELEASE_ALLOW:
        entry = str(entry).strip()
        if entry.startswith("@") and _domain(entry) == _domain(address):
            return True
        if "@" in entry.lstrip("@") and entry.lower() == address.lower():
            return True
    return False


def release_enabled():
    return bool(settings.NOTIFICATIONS_MAILBOX_RELEASE_SMTP and settings.NOTIFICATIONS_MAILBOX_RELEASE_ALLOW)


def _server():
    parts = urlsplit(settings.NOTIFICATIONS_MAILBOX_RELEASE_SMTP)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise ReleaseRefused(
            _("NOTIFICATIONS_MAILBOX_RELEASE_SMTP must look like smtp://host:port (or smtp+starttls://, smtps://).")
        )
    return parts


def mailbox_release(*, email, recipients):
    """Send the row's message to `recipients` through the release server. Returns the recipients
    the server accepted; raises ReleaseRefused before connecting, ReleaseFailed after."""
    if not release_enabled():
        raise ReleaseRefused(_("Release is off: set NOTIFICATIONS_MAILBOX_RELEASE_SMTP and _ALLOW."))
    outside = [address for address in recipients if not release_allowed(address)]
    if outside:
        raise ReleaseRefused(
            _("Not in NOTIFICATIONS_MAILBOX_RELEASE_ALLOW: %(addresses)s.") % {"addresses": ", ".join(outside)}
        )
    source = message_source(email)
    if source is None:
        raise ReleaseRefused(_("This email's content can no longer be read."))
    parts = _server()
    smtp_class, starttls = SCHEMES[parts.scheme]
    sender = parseaddr(email.from_email)[1]
    try:
        with smtp_class(parts.hostname, parts.port or 0, timeout=float(settings.NOTIFICATIONS_EMAIL_TIMEOUT)) as smtp:
            if starttls:
                smtp.starttls()
            if parts.username:
                smtp.login(unquote(parts.username), unquote(parts.password or ""))
            refused = smtp.sendmail(sender, list(recipients), source)
    except smtplib.SMTPRecipientsRefused as error:
        raise ReleaseFailed(_("The server refused every recipient: %(reply)s") % {"reply": error.recipients}) from error
    except (smtplib.SMTPException, OSError) as error:
        raise ReleaseFailed(_("The release server failed: %(error)s") % {"error": error}) from error
    return [address for address in recipients if address not in refused]
