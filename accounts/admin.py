from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .admin_mfa import factors_remove_by_staff, second_factors_table
from .flows.email_verification import confirmation_send, user_confirm
from .forms import AdminUserChangeForm, AdminUserCreationForm
from .models import AbstractAccountsUser


class ConfirmedFilter(admin.SimpleListFilter):
    title = _("email confirmed")
    parameter_name = "confirmed"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(email_confirmed_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(email_confirmed_at__isnull=True)
        return queryset


class UserAdmin(DjangoUserAdmin):
    form = AdminUserChangeForm
    add_form = AdminUserCreationForm
    list_display = ("email", "username", "confirmed", "is_active", "date_joined", "last_login")
    list_filter = (ConfirmedFilter, "is_active", "is_staff", "is_superuser", "language")
    search_fields = ("email", "username", "first_name", "last_name")
    ordering = ("-date_joined",)
    date_hierarchy = "date_joined"
    actions = ("resend_confirmation", "mark_confirmed", "remove_second_factors")
    readonly_fields = ("second_factors",)
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("Email"), {"fields": ("email_confirmed_at", "language")}),
        (_("Second factors"), {"fields": ("second_factors",)}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "username", "usable_password", "password1", "password2")}),
    )

    @admin.display(description=_("second factors"))
    def second_factors(self, user):
        return second_factors_table(user)

    @admin.display(boolean=True, description=_("confirmed"), ordering="email_confirmed_at")
    def confirmed(self, user):
        return user.email_confirmed

    @admin.action(description=_("Send a new confirmation link to the selected unconfirmed users"))
    def resend_confirmation(self, request, queryset):
        users = list(queryset.filter(email_confirmed_at__isnull=True, is_active=True))
        for user in users:
            confirmation_send(user=user)
        skipped = queryset.count() - len(users)
        self.message_user(
            request,
            ngettext(
                "Sent a confirmation link to %(count)d user.", "Sent confirmation links to %(count)d users.", len(users)
            )
            % {"count": len(users)},
            messages.SUCCESS if users else messages.WARNING,
        )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "Skipped %(count)d user who is already confirmed or inactive.",
                    "Skipped %(count)d users who are already confirmed or inactive.",
                    skipped,
                )
                % {"count": skipped},
                messages.INFO,
            )

    @admin.action(description=_("Mark the selected users' addresses as confirmed"))
    def mark_confirmed(self, request, queryset):
        count = sum(user_confirm(user=user) for user in queryset.filter(email_confirmed_at__isnull=True))
        self.message_user(
            request,
            ngettext("Marked %(count)d user as confirmed.", "Marked %(count)d users as confirmed.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Remove the second factors of the selected users (they are told by email)"))
    def remove_second_factors(self, request, queryset):
        count = factors_remove_by_staff(request=request, users=queryset)
        self.message_user(
            request,
            ngettext(
                "Removed the second factors of %(count)d user.", "Removed the second factors of %(count)d users.", count
            )
            % {"count": count},
            messages.SUCCESS if count else messages.WARNING,
        )


# The project's user model (accounts.User, or its own subclass of AbstractAccountsUser), unless
# the project registered one itself.
if issubclass(get_user_model(), AbstractAccountsUser) and not admin.site.is_registered(get_user_model()):
    admin.site.register(get_user_model(), UserAdmin)

from .admin_codes import EmailCaptchaAdmin  # noqa: E402, F401  (registers the emailed-code audit admin)
