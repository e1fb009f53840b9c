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
    redacted = models.BooleanField(default=False)

    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    provider = models.CharField(max_length=50, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outbound email")
        verbose_name_plural = _("outbound emails")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx")]

    def __str__(self):
        return f"{self.subject} → {self.recipients}"

    @property
    def queue(self):
        return "email-bulk" if self.category == self.Category.BULK else "email-urgent"


# ------------------------------------------------------------------------------------------------
# Follows and follower alerts (services in notifications/follows.py)
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
