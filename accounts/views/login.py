"""Log-in and log-out: by password, or by a code emailed to a confirmed account (accounts.flows.code_verification)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView

from .. import forms
from ..conf import settings
from ..flows.code_verification import LOGIN_EMAIL_SESSION_KEY, CodeError, Purpose, code_send, code_sent_message
from ..flows.login_by_code import login_by_code, login_code_wait
from ..flows.mfa import mfa_login_start
from ..identity import login_key
from ..ratelimit import client_ip
from .base import JsonOrPageMixin, logged_in_message, rate_limited, safe_next


class LoginView(auth_views.LoginView):
    form_class = forms.LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        # One bucket per identity, however it is spelled (case, full-width letters, ...).
        login_name = login_key((request.POST.get("username") or "")[: forms.EMAIL_MAX_LENGTH])
        return rate_limited(request, "login", key=login_name or None) or super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form, unconfirmed_user=form.unconfirmed_user))

    def form_valid(self, form):
        user = form.get_user()
        if mfa_login_start(self.request, user=user, next_url=self.get_redirect_url()):
            return redirect("accounts:login-second-factor")
        messages.success(self.request, logged_in_message(user))
        return HttpResponseRedirect(self.get_success_url())


class LogoutView(auth_views.LogoutView):
    """GET asks "Log out?" with one button, as allauth does; the POST logs out."""

    http_method_names = ["get", "post", "options"]
    template_name = "accounts/logout.html"

    def get(self, request, *args, **kwargs):
        next_url = self.get_redirect_url()
        context = {"redirect_field_name": self.redirect_field_name, "redirect_field_value": next_url}
        return render(request, self.template_name, context)

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, _("You are logged out."))
        return response


# ------------------------------------------------------------------------------------------------
# By code: /accounts/login/code/ asks for one, /accounts/login/code/confirm/ takes it
# ------------------------------------------------------------------------------------------------
class CodeLoginMixin(JsonOrPageMixin):
    http_method_names = ["get", "post"]

    @cached_property
    def next_url(self):
        """Only a `next` the person came with (never the Referer), if it points at this site."""
        request = self.request
        return safe_next(request, "") if request.GET.get("next") or request.POST.get("next") else ""

    def get_context_data(self, **kwargs):
        return super().get_context_data(next=self.next_url, **kwargs)


@method_decorator(never_cache, name="dispatch")
class LoginCodeView(CodeLoginMixin, FormView):
    form_class = forms.CodeRequestForm
    template_name = "accounts/code_login.html"

    def get_initial(self):
        return {"email": self.request.GET.get("email", "")[: forms.EMAIL_MAX_LENGTH], "purpose": Purpose.LOGIN}

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if "data" in kwargs:
            kwargs["data"] = {"email": self.request.POST.get("email", ""), "purpose": Purpose.LOGIN}
        return kwargs

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        try:
            sent = code_send(email=email, purpose=Purpose.LOGIN, ip=client_ip(self.request), language=get_language())
        except CodeError as error:
            return self.code_failed(form, "email", error)
        self.request.session[LOGIN_EMAIL_SESSION_KEY] = email
        messages.success(
            self.request, code_sent_message(email=email, purpose=Purpose.LOGIN, expires_in=sent.expires_in)
        )
        confirm = reverse("accounts:login-code-confirm")
        return redirect(f"{confirm}?{urlencode({'next': self.next_url})}" if self.next_url else confirm)


@method_decorator([never_cache, sensitive_post_parameters("code")], name="dispatch")
class LoginCodeConfirmView(CodeLoginMixin, FormView):
    form_class = forms.CodeLoginForm
    template_name = "accounts/code_login_confirm.html"

    def get_initial(self):
        email = self.request.GET.get("email", "")[: forms.EMAIL_MAX_LENGTH]
        return {"email": email or self.request.session.get(LOGIN_EMAIL_SESSION_KEY, "")}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(minutes=max(1, settings.ACCOUNTS_CODE_TTL // 60), **kwargs)
        if self.request.method == "GET":
            # Just sent one: "Send a new code" waits as long as the limit would make it (no certain 429).
            email = self.get_initial()["email"]
            context["retry_after"] = login_code_wait(email=email) if email else 0
        return context

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            user = login_by_code(email=data["email"], code=data["code"], ip=client_ip(self.request))
        except CodeError as error:
            return self.code_failed(form, "code", error)
        self.request.session.pop(LOGIN_EMAIL_SESSION_KEY, None)
        if mfa_login_start(self.request, user=user, next_url=self.next_url):
            return redirect("accounts:login-second-factor")
        messages.success(self.request, logged_in_message(user))
        return redirect(self.next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
