"""Changing the address (accounts.flows.email_change), and undoing a change from the old address
(accounts.flows.email_change_revert)."""

from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView

from .. import forms
from ..conf import settings
from ..flows.email_change import email_change_check, email_change_confirm, email_change_request
from ..flows.email_change_revert import email_revert, email_revert_check
from ..origin import request_origin
from .base import TokenLinkView, rate_limited


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class EmailChangeView(LoginRequiredMixin, FormView):
    form_class = forms.EmailChangeForm
    template_name = "accounts/email_change_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def post(self, request, *args, **kwargs):
        # Counted before the form looks at anything, so probing costs the prober their budget.
        limited = rate_limited(request, "email_change", key=f"user:{request.user.pk}")
        return limited or super().post(request, *args, **kwargs)

    def form_valid(self, form):
        new_email = form.cleaned_data["email"]
        limited = rate_limited(self.request, "confirm_resend", key=new_email)
        if limited:
            return limited
        # A link if the address is free, a notice to its owner if not: the answer is the same.
        email_change_request(user=self.request.user, new_email=new_email)
        messages.info(
            self.request,
            _(
                "Check the inbox of %(new)s: we sent it an email. "
                "Your address stays %(old)s until you open the link in it."
            )
            % {"new": new_email, "old": self.request.user.email},
        )
        return redirect(settings.LOGIN_REDIRECT_URL)


class EmailChangeConfirmView(TokenLinkView):
    template_name = "accounts/email_change_confirm.html"
    invalid_template_name = "accounts/email_change_invalid.html"
    check = staticmethod(email_change_check)

    def apply(self, token):
        return email_change_confirm(token=token, **request_origin(self.request))

    def get_context(self, target):
        user, new_email = target
        return {"username": user.username, "new_email": new_email}

    def done(self, user):
        messages.success(self.request, _("Your email address is now %(email)s.") % {"email": user.email})
        if self.request.user.is_authenticated:
            return redirect(settings.LOGIN_REDIRECT_URL)
        return redirect("accounts:login")


@method_decorator(login_not_required, name="dispatch")
class EmailRevertView(TokenLinkView):
    """The link in the notice to the old address. The token moves from the URL into the session at
    once, so the page that holds the button has no token in its address; the session's copy dies
    with the change it undoes."""

    template_name = "accounts/email_revert.html"
    invalid_template_name = "accounts/email_revert_invalid.html"
    session_key = "accounts_email_revert_token"
    check = staticmethod(email_revert_check)
    apply = staticmethod(email_revert)

    def get(self, request, token=None):
        if token is not None:
            request.session[self.session_key] = token
            return redirect("accounts:email-revert")
        return super().get(request, request.session.get(self.session_key, ""))

    def post(self, request, token=None):
        return super().post(request, token or request.session.get(self.session_key, ""))

    def get_context(self, target):
        user, old_email = target
        return {"username": user.username, "old_email": old_email, "new_email": user.email}

    def done(self, user):
        if str(self.request.session.get(SESSION_KEY)) == str(user.pk):
            logout(self.request)  # its session was ended with the others
        else:
            self.request.session.pop(self.session_key, None)
        return render(self.request, "accounts/email_revert_done.html", {"email": user.email})
