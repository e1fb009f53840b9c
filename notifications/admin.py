from django.contrib import admin, messages
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from .dev.preview import outbound_preview
from .dev.views import mailbox_html_response
from .models import Follow, NotificationPreference, OutboundEmail
from .outbox.services import outbox_enqueue
from .tracking.admin_tracking import DeliveryOutcomeFilter, EmailEventInline  # also registers the suppression list


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "subject_short",
        "recipients_short",
        "status",
        "category_label",
        "attempts",
        "created_at",
        "sent_at",
    )
    list_filter = (DeliveryOutcomeFilter, "status", "category", "provider", "template", "sensitive")
    inlines = [EmailEventInline]
    search_fields = ("recipients", "subject", "provider_message_id")
    date_hierarchy = "created_at"
    actions = ["requeue"]
    readonly_fields = (
        "status",
        "category",
        "template",
        "from_email",
        "recipients",
        "subject",
        "sensitive",
        "redacted",
        "attempts",
        "last_error",
        "next_attempt_at",
        "enqueued_at",
        "lease_until",
        "provider",
        "provider_since_attempt",
        "provider_message_id",
        "created_at",
        "updated_at",
        "sent_at",
        "message_preview",
        "refused_recipients",
        "mime",
    )
    exclude = ("payload", "payload_encrypted")
    CATEGORY_SHORT = {OutboundEmail.Category.URGENT: _("urgent"), OutboundEmail.Category.BULK: _("bulk")}

    class Media:
        css = {"all": ["notifications/admin/outbox.css"]}

    def has_add_permission(self, request):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Every field is read-only: a Save button would promise an edit that cannot happen.
        buttons = {"show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **buttons})

    @staticmethod
    def _cut(value, length):
        return format_html('<span title="{}">{}</span>', value, Truncator(value).chars(length))

    @admin.display(description=_("subject"), ordering="subject")
    def subject_short(self, obj):
        return self._cut(obj.subject, 60)

    @admin.display(description=_("recipients"), ordering="recipients")
    def recipients_short(self, obj):
        return self._cut(obj.recipients, 40)

    @admin.display(description=_("category"), ordering="category")
    def category_label(self, obj):
        short = self.CATEGORY_SHORT.get(obj.category, obj.category)
        return format_html('<span title="{}">{}</span>', obj.get_category_display(), short)

    @admin.display(description=_("message as the recipient sees it"))
    def message_preview(self, obj):
        preview = outbound_preview(obj)
        html_url = reverse("admin:notifications_outboundemail_html", args=[obj.pk])
        return render_to_string("notifications/_preview.html", {"preview": preview, "html_url": html_url})

    def get_urls(self):
        return [
            path("<int:pk>/html/", self.admin_site.admin_view(self.html_view), name="notifications_outboundemail_html"),
            *super().get_urls(),
        ]

    def html_view(self, request, pk):
        return mailbox_html_response(get_object_or_404(OutboundEmail, pk=pk))

    @admin.action(description=_("Requeue the selected emails for delivery"))
    def requeue(self, request, queryset):
        Status = OutboundEmail.Status
        # Being sent, already out (a requeue would be a duplicate), or redacted (its content is gone).
        skip = Q(status__in=[Status.SENDING, Status.SENT, Status.DELIVERED]) | Q(redacted=True)
        ids = list(queryset.exclude(skip).values_list("pk", flat=True))
        OutboundEmail.objects.filter(pk__in=ids).exclude(skip).update(
            status=Status.QUEUED,
            next_attempt_at=timezone.now(),
            attempts=0,
            last_error="",
            lease_until=None,
            provider="",
            provider_since_attempt=0,
        )
        grouped = {}
        for row in OutboundEmail.objects.filter(pk__in=ids, status=Status.QUEUED).only("pk", "category"):
            grouped.setdefault(row.queue, []).append(row.pk)
        outbox_enqueue(grouped)  # what the broker does not take now, the sweeper publishes later
        requeued = sum(len(group) for group in grouped.values())
        self.message_user(request, _("%(n)d email(s) requeued.") % {"n": requeued}, messages.SUCCESS)
        if skipped := queryset.count() - requeued:
            self.message_user(
                request,
                _("%(n)d email(s) left as they were: being sent, already sent, or redacted.") % {"n": skipped},
                messages.WARNING,
            )


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ("follower", "followed", "created_at")
    search_fields = ("follower__username", "follower__email", "followed__username", "followed__email")
    raw_id_fields = ("follower", "followed")
    date_hierarchy = "created_at"
    list_select_related = ("follower", "followed")


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "follower_emails", "updated_at")
    list_filter = ("follower_emails",)
    search_fields = ("user__username", "user__email")
    raw_id_fields = ("user",)
    list_select_related = ("user",)
