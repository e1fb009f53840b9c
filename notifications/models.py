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
