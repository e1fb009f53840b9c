"""The second factors in the admin: each user's authenticators (type, name, created, last used;
never a secret), and the staff action that removes them, with an audit row (Django's admin log)
and a notice to the user."""

from django.contrib.admin.models import CHANGE, LogEntry
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .flows.mfa import factors_remove_all
from .flows.notices import mfa_notify
from .models import Authenticator
from .origin import request_origin


def second_factors_table(user):
    """The user's authenticators as a read-only table for the change page (no form, so nothing on
    the page could post a secret back or need a formset)."""
    rows = Authenticator.objects.filter(user=user) if user and user.pk else []
    if not rows:
        return _("none")
    return format_html(
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
        _("type"),
        _("name"),
        _("created"),
        _("last used"),
        format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    row.get_kind_display(),
                    row.name or "–",
                    date_format(row.created_at, "DATETIME_FORMAT"),
                    date_format(row.last_used_at, "DATETIME_FORMAT") if row.last_used_at else "–",
                )
                for row in rows
            ),
        ),
    )


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
