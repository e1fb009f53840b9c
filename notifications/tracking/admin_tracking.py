"""Admin for delivery tracking: an email's event timeline, the outcome filter, the suppression list."""

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Q
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..models import EmailEvent, OutboundEmail, Suppression
from .suppression import suppression_lift

Status = OutboundEmail.Status


class DeliveryOutcomeFilter(admin.SimpleListFilter):
    title = _("delivery outcome")
    parameter_name = "outcome"
    OUTCOMES = {
        "pending": (_("not sent yet"), Q(status__in=[Status.QUEUED, Status.SENDING])),
        "awaiting": (_("sent, no report yet"), Q(status=Status.SENT)),
        "delivered": (_("delivered"), Q(status=Status.DELIVERED)),
        "bounced": (_("bounced"), Q(status=Status.BOUNCED)),
        "complained": (_("marked as spam"), Q(status=Status.COMPLAINED)),
        "rejected": (_("rejected by the provider"), Q(status=Status.REJECTED)),
        "failed": (_("failed to send"), Q(status=Status.FAILED)),
        "suppressed": (_("not sent: address suppressed"), Q(status=Status.SUPPRESSED)),
        "soft-bounced": (_("soft-bounced at least once"), Q(events__bounce=EmailEvent.Bounce.SOFT)),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _q) in self.OUTCOMES.items()]

    def queryset(self, request, queryset):
        if self.value() in self.OUTCOMES:
            return queryset.filter(self.OUTCOMES[self.value()][1]).distinct()
        return queryset


class EmailEventInline(admin.TabularInline):
    """The email's timeline as its provider reported it."""

    model = EmailEvent
    verbose_name_plural = _("delivery events (as the provider reported them)")
    extra = 0
    can_delete = False
    ordering = ("occurred_at", "id")
    fields = (
        "occurred_at",
        "event_type",
        "recipient",
        "bounce",
        "description",
        "mta_response",
        "provider",
        "raw_detail",
    )
    readonly_fields = fields
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("provider's detail"))
    def raw_detail(self, obj):
        return format_html(
            "<details><summary>{}</summary><pre>{}</pre></details>",
            _("show"),
            json.dumps(obj.raw, indent=2, sort_keys=True),
        )


class LiftForm(forms.Form):
    reason = forms.CharField(
        label=_("Why may we write to these addresses again?"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text=_("For example: the user fixed their mailbox and asked to receive email again."),
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Give a reason."))
        return reason


class ActiveFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", _("suppressed")), ("lifted", _("lifted"))]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(lifted_at__isnull=True)
        if self.value() == "lifted":
            return queryset.filter(lifted_at__isnull=False)
        return queryset


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ("address", "reason", "is_active", "soft_bounce_count", "created_at", "updated_at", "lifted_at")
    list_filter = (ActiveFilter, "reason")
    search_fields = ("address",)
    date_hierarchy = "created_at"
    actions = ["lift"]
    readonly_fields = (
        "address",
        "reason",
        "detail",
        "email_link",
        "first_event",
        "last_event",
        "soft_bounce_count",
        "created_at",
        "updated_at",
        "lifted_at",
        "lifted_reason",
        "lifted_by",
    )
    exclude = ("email",)

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("active"), boolean=True, ordering="lifted_at")
    def is_active(self, obj):
        return obj.active

    @admin.display(description=_("email that caused it"))
    def email_link(self, obj):
        if obj.email_id is None:
            return "-"
        url = reverse("admin:notifications_outboundemail_change", args=[obj.email_id])
        return format_html('<a href="{}">#{}</a>', url, obj.email_id)

    @admin.action(description=_("Lift the selected suppressions (asks for a reason)"), permissions=["change"])
    def lift(self, request, queryset):
        queryset = queryset.filter(lifted_at__isnull=True)
        form = LiftForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            lifted = sum(
                suppression_lift(suppression=row, reason=form.cleaned_data["reason"], user=request.user)
                for row in queryset
            )
            text = ngettext("%(n)d suppression lifted.", "%(n)d suppressions lifted.", lifted) % {"n": lifted}
            self.message_user(request, text, messages.SUCCESS)
            return None
        if not queryset.exists():
            self.message_user(request, _("None of the selected addresses is suppressed."), messages.WARNING)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Lift suppressions"),
            "opts": self.model._meta,
            "rows": queryset,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/notifications/suppression/lift.html", context)
