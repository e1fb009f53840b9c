"""Retention of code audit rows (EmailCaptcha): deleted after ACCOUNTS_CODE_AUDIT_RETENTION_DAYS
(90 by default), in short batches so no run holds many locks for long."""

from datetime import timedelta

from django.utils import timezone

from .conf import settings
from .models import EmailCaptcha


def code_audit_purge(*, older_than=None, now=None, batch=1000, max_batches=50):
    """Delete audit rows created more than `older_than` days ago; returns how many."""
    days = older_than if older_than is not None else settings.ACCOUNTS_CODE_AUDIT_RETENTION_DAYS
    old = EmailCaptcha.objects.filter(created_at__lt=(now or timezone.now()) - timedelta(days=days)).order_by()
    deleted = 0
    for _ in range(max_batches):
        ids = list(old.values_list("pk", flat=True)[:batch])
        if ids:
            deleted += EmailCaptcha.objects.filter(pk__in=ids).delete()[0]
        if len(ids) < batch:
            break
    return deleted
