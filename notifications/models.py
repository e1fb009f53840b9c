from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboundEmail(models.Model):
    """One message in the outbox: written in the sender's transaction, delivered by a worker."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        DELIVERED = "delivered", _("delivered")
        BOUNCED = "bounced", _("bounced")
        COMPLAINED = "complained", _("complained")
        REJECTED = "rejected", _("rejected")
        FAILED = "failed", _("failed")
        SUPPRESSED = "suppressed", _("suppressed")

    class Category(models.TextChoices):
        URGENT = "urgent", _("urgent (codes, links, security notices)")
        BULK = "bulk", _("bulk (alerts, digests)")

    status = models.CharField(max_length=16, choices=Status, default=Status.QUEUED, db_index=True)
    category = models.CharField(max_length=8, choices=Category, default=Category.URGENT)
    template = models.CharField(max_length=100, blank=True, help_text=_("Template it was rendered from."))
    from_email = models.CharField(max_length=320)
    recipients = models.TextField(help_text=_("Every To, Cc and Bcc address, comma-separated."))
    subject = models.CharField(max_length=998)
    payload = models.JSONField(default=dict, blank=True)
    payload_encrypted = models.TextField(blank=True)
    sensitive = models.BooleanField(default=False)
    # Caused by someone who has not proved the mailbox is theirs: counted by the per-mailbox ceiling.
    unsolicited = models.BooleanField(default=False, db_default=False)  # db_default: raw COPY/INSERTs too
    redacted = models.BooleanField(default=False)

    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    refused_recipients = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("Recipients the server refused while accepting the others: {address: reply}."),
    )
    mime = models.TextField(
        blank=True, help_text=_("The message's bytes as first built, kept for retries (encrypted when sensitive).")
    )
    next_attempt_at = models.DateTimeField(default=timezone.now)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    provider = models.CharField(max_length=50, blank=True)
    provider_since_attempt = models.PositiveIntegerField(
        default=0, help_text=_("Attempts made before the current provider took over (failover).")
    )
    provider_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When it was first opened in the dev mailbox; None is unread there.
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outbound email")
        verbose_name_plural = _("outbound emails")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx"),
            # Operations (dashboard.py, retention.py): each query there reads one of these.
            models.Index(fields=["status", "created_at"], name="outbox_status_created_idx"),
            models.Index(fields=["sent_at"], name="outbox_sent_idx"),
            models.Index(
                fields=["recipients", "created_at"], condition=models.Q(unsolicited=True), name="outbox_unsolicited_idx"
            ),
            models.Index(fields=["status", "updated_at"], name="outbox_status_updated_idx"),
            models.Index(
                fields=["created_at"], condition=~models.Q(payload_encrypted="", payload={}), name="outbox_content_idx"
            ),
            # What a delivery task claims: queued rows of one category, the longest due first.
            models.Index(
                fields=["category", "next_attempt_at"],
                condition=models.Q(status="queued"),
                name="outbox_queued_idx",
            ),
        ]

    def __str__(self):
        return f"{self.subject} → {self.recipients}"

    @property
    def queue(self):
        return "email-bulk" if self.category == self.Category.BULK else "email-urgent"


class DeliveryHour(models.Model):
    """One hour's count of one outcome at one provider, summed from the outbox and its events by
    a beat task (notifications/ops/rollup.py), so the dashboard reads a few hundred of these rows
    instead of every message of the last week. An hour summed has a row with outcome "summed" (its
    mark); the current hour is summed as far as it has gone."""

    hour = models.DateTimeField(_("hour"))
    provider = models.CharField(_("provider"), max_length=50, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16)
    n = models.PositiveIntegerField(_("count"), default=0)
    through = models.DateTimeField(
        _("counted through"), help_text=_("What happened before this moment is counted: the whole hour, or its start.")
    )

    class Meta:
        verbose_name = _("delivery hour")
        verbose_name_plural = _("delivery hours")
        constraints = [
            # Also the index the dashboard reads a window of hours through.
            models.UniqueConstraint(fields=["hour", "provider", "outcome"], name="delivery_hour_unique"),
        ]

    def __str__(self):
        return f"{self.hour:%Y-%m-%d %H}:00 {self.provider} {self.outcome} {self.n}"


class BounceReasonHour(models.Model):
    """One hour's count of bounces of one kind for one reason, summed by the same beat task and in
    the same transaction as the hour's DeliveryHour rows (whose "summed" mark says through when
    these are counted too). `reason` is the provider's text normalised (ops/bounces.py): addresses
    and long numbers replaced, cut short, so the sums hold no personal data and like bounces add up."""

    hour = models.DateTimeField(_("hour"))
    kind = models.CharField(_("bounce"), max_length=4, blank=True, help_text=_("Hard, soft or unknown."))
    reason = models.CharField(_("reason"), max_length=120, blank=True)
    n = models.PositiveIntegerField(_("count"), default=0)

    class Meta:
        verbose_name = _("bounce reason hour")
        verbose_name_plural = _("bounce reason hours")
        constraints = [
            # Also the index the dashboard reads a window of hours through.
            models.UniqueConstraint(fields=["hour", "kind", "reason"], name="bounce_reason_hour_unique"),
        ]

    def __str__(self):
        return f"{self.hour:%Y-%m-%d %H}:00 {self.kind} {self.reason} {self.n}"


# ------------------------------------------------------------------------------------------------
# Follows and follower alerts (services in notifications/follows/services.py)
# ------------------------------------------------------------------------------------------------
class Follow(models.Model):
    """`follower` follows `followed`. One row per pair; nobody follows themselves."""

    follower = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows_out", verbose_name=_("follower")
    )
    followed = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows_in", verbose_name=_("followed")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("follow")
        verbose_name_plural = _("follows")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["follower", "followed"], name="follow_unique_pair"),
            models.CheckConstraint(condition=~models.Q(follower=models.F("followed")), name="follow_not_self"),
        ]
        indexes = [models.Index(fields=["followed", "-created_at"], name="follow_followed_idx")]

    def __str__(self):
        return f"{self.follower} → {self.followed}"


class NotificationPreference(models.Model):
    """A user's email choices. Created on first change; a user without a row gets the defaults."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_preference",
        verbose_name=_("user"),
    )
    follower_emails = models.BooleanField(_("email me about new followers"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self):
        return str(self.user)


class FollowerAlertState(models.Model):
    """Per-recipient coalescing state, locked (SELECT ... FOR UPDATE) by whoever decides to send."""

    recipient = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    window_until = models.DateTimeField(null=True, blank=True, help_text=_("No other alert before this time."))
    digest_scheduled = models.BooleanField(default=False, help_text=_("A digest task is due at window_until."))
    alerts_sent = models.PositiveIntegerField(default=0)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("follower alert state")
        verbose_name_plural = _("follower alert states")

    def __str__(self):
        return str(self.recipient_id)


class FollowerAlertItem(models.Model):
    """One follower to tell `recipient` about: pending while alerted_at is empty. Once alerted the
    row stays for a day, so follow, unfollow and follow again of the pair does not alert twice."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    follower = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    followed_at = models.DateTimeField(default=timezone.now)
    alerted_at = models.DateTimeField(null=True, blank=True)
    batch = models.PositiveIntegerField(null=True, blank=True, help_text=_("The recipient's alert number."))

    class Meta:
        verbose_name = _("follower alert item")
        verbose_name_plural = _("follower alert items")
        constraints = [models.UniqueConstraint(fields=["recipient", "follower"], name="follower_alert_item_pair")]
        indexes = [
            models.Index(
                fields=["followed_at"],
                condition=models.Q(alerted_at__isnull=True),
                name="follower_alert_pending_idx",
            ),
            models.Index(fields=["recipient", "batch"], name="follower_alert_batch_idx"),
            models.Index(fields=["alerted_at"], name="follower_alert_alerted_idx"),
        ]

    def __str__(self):
        return f"{self.follower_id} → {self.recipient_id}"


# ------------------------------------------------------------------------------------------------
# Delivery tracking and suppression (services in notifications/tracking/services.py and suppression.py)
# ------------------------------------------------------------------------------------------------
class EmailEvent(models.Model):
    """One event a provider reported about a message through its tracking webhook (via Anymail).

    `email` is empty while no outbox row carries the event's message id (an event can arrive before
    the worker records the id; it is attached then)."""

    class Bounce(models.TextChoices):
        HARD = "hard", _("hard")
        SOFT = "soft", _("soft")

    email = models.ForeignKey(
        OutboundEmail, on_delete=models.CASCADE, null=True, blank=True, related_name="events", verbose_name=_("email")
    )
    provider = models.CharField(_("provider"), max_length=50)
    event_id = models.CharField(_("provider event id"), max_length=255)
    event_type = models.CharField(_("event"), max_length=20, db_index=True)
    recipient = models.CharField(_("recipient"), max_length=320, blank=True, db_index=True)
    message_id = models.CharField(_("provider message id"), max_length=255, blank=True, db_index=True)
    bounce = models.CharField(_("bounce"), max_length=4, choices=Bounce, blank=True)
    occurred_at = models.DateTimeField(_("occurred"), default=timezone.now)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    description = models.TextField(_("description"), blank=True)
    mta_response = models.TextField(_("mail server response"), blank=True)
    reject_reason = models.CharField(_("reject reason"), max_length=20, blank=True)
    raw = models.JSONField(_("provider's event"), default=dict, blank=True)

    class Meta:
        verbose_name = _("email event")
        verbose_name_plural = _("email events")
        ordering = ["occurred_at", "id"]
        constraints = [
            # One notification may name several recipients under one event id.
            models.UniqueConstraint(fields=["provider", "event_id", "recipient"], name="email_event_unique"),
        ]
        indexes = [
            models.Index(fields=["event_type", "occurred_at"], name="email_event_type_time_idx"),
            models.Index(fields=["received_at"], name="email_event_received_idx"),
        ]

    def __str__(self):
        return f"{self.event_type} {self.recipient}"


class Suppression(models.Model):
    """An address we no longer write to (hard bounce, complaint, or repeated soft bounces).

    Active while `lifted_at` is empty. Lifting keeps the row, so the address's history stays."""

    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard-bounce", _("hard bounce")
        COMPLAINT = "complaint", _("spam complaint")
        SOFT_BOUNCES = "soft-bounces", _("repeated soft bounces")

    address = models.CharField(_("address"), max_length=320, unique=True, help_text=_("Trimmed and lower-cased."))
    reason = models.CharField(_("reason"), max_length=16, choices=Reason)
    detail = models.TextField(_("provider's words"), blank=True)
    email = models.ForeignKey(
        OutboundEmail,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("email that caused it"),
    )
    first_event = models.ForeignKey(
        EmailEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("first event")
    )
    last_event = models.ForeignKey(
        EmailEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("last event")
    )
    soft_bounce_count = models.PositiveIntegerField(_("soft bounces"), default=0)
    created_at = models.DateTimeField(_("suppressed"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    lifted_at = models.DateTimeField(_("lifted"), null=True, blank=True)
    lifted_reason = models.TextField(_("why it was lifted"), blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lifted by"),
    )

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppressed addresses")
        ordering = ["-updated_at", "-id"]

    def __str__(self):
        return self.address

    @property
    def active(self):
        return self.lifted_at is None


class WebhookToken(models.Model):
    """A token from a signed webhook post that was already accepted. Mailgun signs only a timestamp
    and a token, so a captured signature would otherwise vouch for any body: each token is good
    once, and is kept while its timestamp is still accepted (notifications/tracking/services.py)."""

    provider = models.CharField(_("provider"), max_length=50)
    token = models.CharField(_("token"), max_length=255)
    signed_at = models.DateTimeField(_("signed"), db_index=True)

    class Meta:
        verbose_name = _("used webhook token")
        verbose_name_plural = _("used webhook tokens")
        constraints = [models.UniqueConstraint(fields=["provider", "token"], name="webhook_token_once")]

    def __str__(self):
        return self.token


class IdempotencyKey(models.Model):
    """A caller's idempotency key (outbox/idempotency.py): the first send with it writes the row and
    its email; another send with it before `expires_at` writes nothing and gets that email back."""

    key = models.CharField(_("key"), max_length=255, unique=True)
    fingerprint = models.CharField(_("fingerprint"), max_length=64, help_text=_("What the first send asked for."))
    email = models.ForeignKey(OutboundEmail, on_delete=models.CASCADE, null=True, related_name="+")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")

    def __str__(self):
        return self.key
