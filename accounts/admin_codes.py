"""Admin for the emailed-code audit rows: read-only, plus an "activity" page of who asks most."""

from datetime import timedelta

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, Sum
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .code_activity import ACTIONS, activity_counted, activity_of, activity_top
from .flows.code_verification import code_audit_expire
from .identity import email_canonical_or_none
from .models import EmailCaptcha

Outcome = EmailCaptcha.Outcome
SENT = [Outcome.PENDING, Outcome.USED, Outcome.EXPIRED, Outcome.EXHAUSTED, Outcome.REPLACED]


@admin.register(EmailCaptcha)
class EmailCaptchaAdmin(admin.ModelAdmin):
    """Audit rows are evidence: nobody adds, edits or deletes them here, and none holds a code."""

    list_display = ("email", "purpose", "outcome", "created_at", "expires_at", "attempts", "used_at", "ip")
    list_filter = ("purpose", "outcome", "created_at")
    search_fields = ("email", "ip")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    list_per_page = 100
    show_full_result_count = False
    change_list_template = "admin/accounts/emailcaptcha/change_list.html"
    activity_template = "admin/accounts/emailcaptcha/activity.html"
    activity_names_max = 5000  # audit-row addresses hashed to name the activity counters

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view(self.activity_view)
        return [path("activity/", view, name="accounts_emailcaptcha_activity"), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        code_audit_expire()  # the cache forgets unused codes silently; show them as expired
        return super().changelist_view(request, extra_context)

    def activity_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            hours = min(max(int(request.GET.get("hours", 1)), 1), 48)
        except ValueError:
            hours = 1
        since = timezone.now() - timedelta(hours=hours)
        rows = EmailCaptcha.objects.filter(created_at__gte=since)
        looked_up = email_canonical_or_none(request.GET.get("email", "")[:254]) or ""
        # Redis counts addresses as hashes: name those the audit rows (or the search) know.
        audited = rows.order_by().values_list("email", flat=True).distinct()[: self.activity_names_max]
        known = {looked_up, *audited} - {""}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Who is asking for codes"),
            "hours": hours,
            "hour_choices": [1, 6, 24],
            "since": since,
            "by_email": self._top(rows, "email", distinct="ip"),
            "by_ip": self._top(rows.exclude(ip=None), "ip", distinct="email"),
            "hit_lists": [
                activity_top(action=action, scope=scope, hours=hours, addresses=known)
                for action in ACTIONS
                for scope in ("email", "ip")
            ],
            "counted": activity_counted(),
            "looked_up": looked_up,
            "looked_up_hits": [activity_of(action=action, email=looked_up, hours=hours) for action in ACTIONS]
            if looked_up
            else None,
        }
        return TemplateResponse(request, self.activity_template, context)

    @staticmethod
    def _top(rows, field, *, distinct, limit=20):
        return list(
            rows.values(field)
            .annotate(
                requests=Count("id"),
                sent=Count("id", filter=Q(outcome__in=SENT)),
                used=Count("id", filter=Q(outcome=Outcome.USED)),
                wrong=Sum("attempts"),
                others=Count(distinct, distinct=True),
            )
            .order_by("-requests", "-wrong", field)[:limit]
        )
