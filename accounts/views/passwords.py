"""Passwords: reset by an emailed link or code, and change (accounts.flows.password_reset)."""

import hmac

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, resolve_url
from django.urls import reverse_lazy
from django.utils.crypto import salted_hmac
from django.utils.decorators import method_decorator
from django.utils.http import base36_to_int
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView

from .. import forms
from ..conf import settings
from ..flows import sessions
from ..flows.code_verification import CodeError, CodeLimited
from ..flows.password_reset import (
    RESET_EMAIL_SESSION_KEY,
    password_changed_notify,
    password_reset_by_code,
    password_reset_code_send,
    password_reset_complete,
    password_reset_request,
)
from ..links import duration_text
from ..origin import request_origin
from ..ratelimit import client_ip, ratelimit_response
from .base import FormPageMixin, private, rate_limited, request_language


class PasswordResetView(auth_views.PasswordResetView):
    form_class = forms.PasswordResetForm
    template_name = "accounts/password_reset_form.html"
    success_url = reverse_lazy("accounts:password-reset-done")

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        limited = rate_limited(self.request, "password_reset", key=email)
        if limited:
            return limited
        if not settings.ACCOUNTS_PASSWORD_RESET_BY_CODE:
            password_reset_request(email=email)  # the worker looks the address up
            return HttpResponseRedirect(self.get_success_url())
        try:
            password_reset_code_send(email=email, ip=client_ip(self.request), language=request_language(self.request))
        except CodeLimited as error:
            return ratelimit_response(self.request, error.retry_after, error.messages[0])
        self.request.session[RESET_EMAIL_SESSION_KEY] = email
        return redirect("accounts:password-reset-code")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(valid_for=duration_text(settings.PASSWORD_RESET_TIMEOUT), **kwargs)


@method_decorator([never_cache, sensitive_post_parameters("code", "new_password1", "new_password2")], name="dispatch")
class PasswordResetCodeView(FormPageMixin, FormView):
    form_class = forms.PasswordResetCodeForm
    template_name = "accounts/password_reset_code.html"
    http_method_names = ["get", "post"]
    invalid_status = 400

    def get_initial(self):
        return {"email": self.request.session.get(RESET_EMAIL_SESSION_KEY, "")}

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            password_reset_by_code(
                email=data["email"],
                code=data["code"],
                new_password=data["new_password1"],
                **request_origin(self.request),
            )
        except CodeError as error:
            return self.code_failed(form, "code", error)
        self.request.session.pop(RESET_EMAIL_SESSION_KEY, None)
        return redirect("accounts:password-reset-complete")


@method_decorator([login_not_required, sensitive_post_parameters(), never_cache], name="dispatch")
class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's view moves the token from the URL into the session, so the session row in the
    database would hold a working link until it is used. Here the session keeps only the token's
    timestamp and a keyed hash of it; the token is rebuilt from the account's current state to
    check it, so a stolen session row opens nothing once the password has changed, and never
    serves as a link."""

    form_class = forms.SetPasswordForm
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password-reset-complete")

    def dispatch(self, request, uidb64=None, token=None, **kwargs):
        self.validlink = False
        self.user = self.get_user(uidb64)
        if self.user is not None:
            if token != self.reset_url_token and self.token_generator.check_token(self.user, token):
                request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN] = reset_seal(token)
                return private(HttpResponseRedirect(request.path.replace(token, self.reset_url_token)))
            sealed = request.session.get(auth_views.INTERNAL_RESET_SESSION_TOKEN)
            if token == self.reset_url_token and reset_unseal(self.token_generator, self.user, sealed):
                self.validlink = True
                return private(FormView.dispatch(self, request, uidb64=uidb64, token=token, **kwargs))
        response = self.render_to_response(self.get_context_data())
        response.status_code = 400
        return private(response)

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            password_reset_complete(user=self.user, **request_origin(self.request))
            sessions.sessions_end_others(user=self.user)  # Django's hash check ends them; the list too
        return response


def _reset_mac(token, secret):
    # The salt keeps the name of the module it was first in: a new one would void sealed tokens.
    return salted_hmac("accounts.views.reset_session", token, secret=secret, algorithm="sha256").hexdigest()


def reset_seal(token):
    """What the session keeps of a reset token: its timestamp and a keyed hash, never the token."""
    return {"ts": token.partition("-")[0], "mac": _reset_mac(token, settings.SECRET_KEY)}


def reset_unseal(generator, user, sealed):
    """True if `sealed` came from a token that still works for `user`."""
    if not isinstance(sealed, dict) or not isinstance(sealed.get("ts"), str) or not isinstance(sealed.get("mac"), str):
        return False
    try:
        timestamp = base36_to_int(sealed["ts"])
    except ValueError:
        return False
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    for secret in secrets:
        # Django's generator has no public "token for this timestamp"; this is the method its
        # own check_token uses.
        token = generator._make_token_with_timestamp(user, timestamp, secret)
        if any(hmac.compare_digest(_reset_mac(token, key), sealed["mac"]) for key in secrets):
            return generator.check_token(user, token)
    return False


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = forms.PasswordChangeForm
    template_name = "accounts/password_change_form.html"

    def get_success_url(self):
        return resolve_url(settings.LOGIN_REDIRECT_URL)

    def form_valid(self, form):
        key = self.request.session.session_key  # Django gives this session a new key below
        with transaction.atomic():
            response = super().form_valid(form)
            sessions.sessions_end_others(user=form.user, keep_session_key=key)
            password_changed_notify(user=form.user, **request_origin(self.request))
        messages.success(self.request, _("Your password is changed."))
        return response
