"""Confirming the address of a new account: "check your inbox", a new link, the link itself, and
the code after sign-up (accounts.flows.email_verification, accounts.flows.email_verification_by_code)."""

from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView, TemplateView

from .. import forms
from ..conf import settings
from ..flows import email_verification
from ..flows.code_verification import CodeError
from ..flows.email_verification import SIGNUP_PROOFS_SESSION_KEY
from ..flows.email_verification_by_code import PENDING_KEY, email_verify_by_code
from ..ratelimit import client_ip
from ..tokens import TokenError
from .base import AUTH_BACKEND, FormPageMixin, TokenLinkView, logged_in_message, rate_limited

CONFIRM_SENT_SESSION_KEY = "accounts_confirm_sent_to"


def confirm_sent_redirect(request, email):
    """The one answer to "send me a link", whether or not one was sent."""
    request.session[CONFIRM_SENT_SESSION_KEY] = email
    return redirect("accounts:confirm-sent")


class ConfirmSentView(TemplateView):
    template_name = "accounts/confirm_sent.html"

    def get_context_data(self, **kwargs):
        email = self.request.session.get(CONFIRM_SENT_SESSION_KEY, "")
        return super().get_context_data(email=email, form=forms.EmailForm(initial={"email": email}), **kwargs)


class ConfirmResendView(FormView):
    form_class = forms.EmailForm
    template_name = "accounts/confirm_resend.html"

    def get_initial(self):
        return {"email": self.request.GET.get("email", "")[: forms.EMAIL_MAX_LENGTH]}

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        limited = rate_limited(self.request, "confirm_resend", key=email)
        if limited:
            return limited
        email_verification.confirmation_resend(email=email)
        return confirm_sent_redirect(self.request, email)


class ConfirmView(TokenLinkView):
    """Confirms an address. If the account's password was chosen by a browser other than this
    one, it could be a squatter's, so this page asks for a new password first."""

    template_name = "accounts/confirm.html"
    invalid_template_name = "accounts/confirm_invalid.html"
    check = staticmethod(email_verification.email_confirm_check)

    def proofs(self):
        return self.request.session.get(SIGNUP_PROOFS_SESSION_KEY, [])

    def get_context(self, user, form=None):
        if form is None and email_verification.confirm_needs_password(user=user, proofs=self.proofs()):
            form = forms.SetPasswordForm(user)
        return {"email": user.email, "form": form}

    def post(self, request, token):
        try:
            user = self.check(token=token)
            form = None
            if email_verification.confirm_needs_password(user=user, proofs=self.proofs()):
                form = forms.SetPasswordForm(user, request.POST)
                if not form.is_valid():
                    return render(request, self.template_name, self.get_context(user, form))
            new_password = form.cleaned_data["new_password1"] if form else None
            user = email_verification.email_confirm(token=token, proofs=self.proofs(), new_password=new_password)
        except TokenError as error:
            return self.invalid(error)
        except email_verification.PasswordRequired:  # the password changed between the check and now
            return render(request, self.template_name, self.get_context(user))
        # No new password was asked for, so this browser chose the password: it signed up.
        signed_up_here = form is None and user.has_usable_password()
        return self.done(user, log_in=signed_up_here and settings.ACCOUNTS_LOGIN_ON_EMAIL_CONFIRMATION)

    def done(self, user, log_in=False):
        messages.success(self.request, _("Thank you: %(email)s is confirmed.") % {"email": user.email})
        if self.request.user.is_authenticated:
            return redirect(settings.LOGIN_REDIRECT_URL)
        if log_in:
            login(self.request, user, backend=AUTH_BACKEND)
            messages.success(self.request, logged_in_message(user))
            return redirect(settings.LOGIN_REDIRECT_URL)
        messages.info(self.request, _("You can log in now."))
        return redirect("accounts:login")


@method_decorator([never_cache, sensitive_post_parameters("code")], name="dispatch")
class ConfirmCodeView(FormPageMixin, FormView):
    """The code emailed after sign-up (ACCOUNTS_EMAIL_VERIFICATION_BY_CODE), which works only in the
    session that signed up; "resend" asks for a new one."""

    form_class = forms.VerifyCodeForm
    template_name = "accounts/confirm_code.html"
    http_method_names = ["get", "post"]
    invalid_status = 400

    def pending(self):
        return self.request.session.get(PENDING_KEY) or {}

    def get_context_data(self, **kwargs):
        return super().get_context_data(email=self.pending().get("email", ""), **kwargs)

    def post(self, request, *args, **kwargs):
        if "resend" in request.POST:
            return self.resend()
        return super().post(request, *args, **kwargs)

    def resend(self):
        email = self.pending().get("email", "")
        if email:
            limited = rate_limited(self.request, "confirm_resend", key=email)
            if limited:
                return limited
            email_verification.confirmation_resend(email=email)
        messages.info(self.request, _("If this address still needs confirming, a new code is on its way."))
        return redirect("accounts:confirm-code")

    def form_valid(self, form):
        code = form.cleaned_data["code"]
        try:
            user = email_verify_by_code(pending=self.pending(), code=code, ip=client_ip(self.request))
        except CodeError as error:
            return self.code_failed(form, "code", error)
        self.request.session.pop(PENDING_KEY, None)
        login(self.request, user, backend=AUTH_BACKEND)
        messages.success(self.request, _("Thank you: %(email)s is confirmed.") % {"email": user.email})
        return redirect(settings.LOGIN_REDIRECT_URL)
