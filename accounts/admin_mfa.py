"""The second factors in the admin: each user's authenticators (type, name, created, last used;
never a secret), and the staff action that removes them, with an audit row (Django's admin log)
and a notice to the user."""

from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.utils.translation import gettext_lazy as _

from .flows.mfa import factors_remove_all
from .flows.notices import mfa_notify
from .models import Authenticator
from .origin import request_origin


class AuthenticatorInline(admin.TabularInline):
    model = Authenticator
    fields = ("kind", "name", "created_at", "last_used_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = _("second factors")

    def has_add_permission(self, request, obj=None):
        return False


def factors_remove_by_staff(*, request, users):
    """Remove every second factor of `users`; an audit row and a notice for each who had one.
    Returns how many users had factors removed."""
    count = 0
    for user in users:
        removed = factors_remove_all(user=user)
        if not removed:
            continue
        count += 1
        LogEntry.objects.log_actions(
            user_id=request.user.pk,
            queryset=[user],
            action_flag=CHANGE,
            change_message=[{"deleted": {"name": str(_("second factors")), "object": ", ".join(removed)}}],
            single_object=True,
        )
        mfa_notify(user=user, event="factors_removed_by_staff", **request_origin(request))
    return count

