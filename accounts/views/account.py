"""Account settings: the page, your sessions, and deleting your account. Thin over
accounts.flows.sessions and accounts.flows.account_deletion, which the JSON API calls too."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django.views.generic import FormView, TemplateView

from .. import forms
from ..conf import settings
from ..flows import account_deletion, mfa, sessions, trust
from ..ratelimit import ratelimit_response
from .base import FormPageMixin
from .mfa import reauth_required

# The method check and login_required are decorators here, rather than http_method_names and
# LoginRequiredMixin, so that a wrong method is a 405 before anything else, logged in or not.


@method_decorator([never_cache, login_required], name="dispatch")
class SettingsView(TemplateView):
    template_name = "accounts/settings.html"

    def get_context_data(self, **kwargs):
        request = self.request
        listed = sessions.session_list(user=request.user, current_session_key=request.session.session_key)
        return super().get_context_data(
            sessions=listed,
            trusted=trust.trust_list(user=request.user, request=request),
            mfa_enabled=mfa.mfa_enabled(request.user),
            **kwargs,
        )


@method_decorator([require_POST, login_required, reauth_required], name="dispatch")
class SessionsEndOthersView(View):
    def post(self, request):
        ended = sessions.sessions_end_others(user=request.user, keep_session_key=request.session.session_key)
        if ended:
            text = ngettext(
                "%(count)d other session was logged out.", "%(count)d other sessions were logged out.", ended
            )
            messages.success(request, text % {"count": ended})
        else:
            messages.info(request, _("You have no other sessions."))
        return redirect("accounts:settings")


@method_decorator(
    [never_cache, sensitive_post_parameters("password", "code"), require_http_methods(["GET", "POST"]), login_required],
    name="dispatch",
)
class AccountDeleteView(FormPageMixin, FormView):
    form_class = forms.AccountDeleteForm
    template_name = "accounts/account_delete.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_invalid(self, form):
        if form.retry_after:
            return ratelimit_response(self.request, form.retry_after)
        return super().form_invalid(form)

    def form_valid(self, form):
        user = self.request.user
        logout(self.request)
        account_deletion.account_delete(user=user)
        messages.success(self.request, _("Your account was deleted. We sent a last email to confirm it."))
        return redirect(settings.LOGIN_REDIRECT_URL)


@method_decorator([require_POST, login_required], name="dispatch")
class AccountDeleteCodeView(View):
    def post(self, request):
        try:
            ttl = account_deletion.deletion_code_send(user=request.user)
        except account_deletion.DeletionLimited as error:
            return ratelimit_response(request, error.retry_after, error.messages[0])
        minutes = max(1, ttl // 60)
        text = ngettext(
            "We emailed a code to %(email)s. It works for %(minutes)d minute.",
            "We emailed a code to %(email)s. It works for %(minutes)d minutes.",
            minutes,
        )
        messages.success(request, text % {"email": request.user.email, "minutes": minutes})
        return redirect("accounts:delete")
