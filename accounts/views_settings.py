"""Account settings: the page, your sessions, and deleting your account. Thin over
accounts/sessions.py and accounts/deletion.py, which the JSON API calls too."""

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from . import deletion, sessions
from .forms import CODE_MAX_LENGTH, PASSWORD_MAX_LENGTH
from .ratelimit import ratelimit_response


class AccountDeleteForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Current password"),
        required=False,
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label=gettext_lazy("Or the code we emailed you"),
        required=False,
        max_length=CODE_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        self.retry_after = None
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if not cleaned.get("password") and not cleaned.get("code"):
            raise forms.ValidationError(_("Enter your password, or the code we emailed you."), code="required")
        try:
            deletion.deletion_confirm(user=self.user, password=cleaned.get("password"), code=cleaned.get("code"))
        except deletion.DeletionError as error:
            self.retry_after = getattr(error, "retry_after", None)
            self.add_error("password" if cleaned.get("password") else "code", error)
        return cleaned


@never_cache
@login_required
def account_settings(request):
    context = {
        "sessions": sessions.session_list(user=request.user, current_session_key=request.session.session_key),
    }
    return render(request, "accounts/settings.html", context)


@require_POST
@login_required
def sessions_end_others(request):
    ended = sessions.sessions_end_others(user=request.user, keep_session_key=request.session.session_key)
    if ended:
        text = ngettext("%(count)d other session was logged out.", "%(count)d other sessions were logged out.", ended)
        messages.success(request, text % {"count": ended})
    else:
        messages.info(request, _("You have no other sessions."))
    return redirect("accounts:settings")


@never_cache
@sensitive_post_parameters("password", "code")
@require_http_methods(["GET", "POST"])
@login_required
def account_delete(request):
    form = AccountDeleteForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if form.is_valid():
            user = request.user
            logout(request)
            deletion.account_delete(user=user)
            messages.success(request, _("Your account was deleted. We sent a last email to confirm it."))
            return redirect("home")
        if form.retry_after:
            return ratelimit_response(request, form.retry_after)
    return render(request, "accounts/account_delete.html", {"form": form})


@require_POST
@login_required
def account_delete_code(request):
    try:
        ttl = deletion.deletion_code_send(user=request.user)
    except deletion.DeletionLimited as error:
        return ratelimit_response(request, error.retry_after, error.messages[0])
    minutes = max(1, ttl // 60)
    text = ngettext(
        "We emailed a code to %(email)s. It works for %(minutes)d minute.",
        "We emailed a code to %(email)s. It works for %(minutes)d minutes.",
        minutes,
    )
    messages.success(request, text % {"email": request.user.email, "minutes": minutes})
    return redirect("accounts:delete")
