"""Account pages. Views check rate limits, validate through a form and hand off to a service."""

import hmac

from django.contrib import messages
from django.contrib.auth import SESSION_KEY, get_user_model, login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import IntegrityError, transaction
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.crypto import salted_hmac
from django.utils.decorators import method_decorator
from django.utils.http import base36_to_int
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView, TemplateView

from . import forms, services, sessions, verification
from .codes import CodeLimited
from .conf import settings
from .conf import settings as app_settings
from .email_revert import email_revert, email_revert_check
from .identity import login_key
from .origin import request_origin
from .password_reset import password_reset_code_send
from .ratelimit import client_ip, ratelimit_consume, ratelimit_response
from .tokens import TokenError

CONFIRM_SENT_SESSION_KEY = "accounts_confirm_sent_to"
SIGNUP_PROOFS_SESSION_KEY = "accounts_signup_proofs"
AUTH_BACKEND = "accounts.backends.EmailOrUsernameBackend"
RESET_EMAIL_SESSION_KEY = "accounts_reset_code_email"


def rate_limited(request, action, key=None):
    """A 429 response if this hit of `action` is over a limit, else None."""
    retry_after = ratelimit_consume(action=action, key=key, ip=client_ip(request))
    return ratelimit_response(request, retry_after) if retry_after else None


def logged_in_message(user):
    """The one message after any log-in: by password, by code, or by confirming from this browser."""
    return _("You are logged in as %(name)s.") % {"name": user.username}


def request_language(request):
    language = translation.get_language() or settings.LANGUAGE_CODE
    codes = {code for code, _name in settings.LANGUAGES}
    return language if language in codes else settings.LANGUAGE_CODE


def confirm_sent_redirect(request, email):
    """The one answer to "send me a link", whether or not one was sent."""
    request.session[CONFIRM_SENT_SESSION_KEY] = email
    return redirect("accounts:confirm-sent")


def private(response):
    """Pages whose URL holds a token: never cached, never sent to another site as a Referer. Not
    "no-referrer": with it, browsers send `Origin: null` with the page's own form POST, which
    Django's CSRF check refuses."""
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "no-store"
    return response


# ------------------------------------------------------------------------------------------------
# Sign-up and confirmation
# ------------------------------------------------------------------------------------------------
@method_decorator([sensitive_post_parameters("password1", "password2", "code"), never_cache], name="dispatch")
class SignupView(FormView):
    form_class = forms.SignupForm
    template_name = "accounts/signup.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect("home")
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        return {"email": self.request.GET.get("email", "")[: forms.EMAIL_MAX_LENGTH]}

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def post(self, request, *args, **kwargs):
        return rate_limited(request, "signup") or super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        if form.code_retry_after:
            return ratelimit_response(self.request, form.code_retry_after, form.errors["code"][0])
        return super().form_invalid(form)

    def form_valid(self, form):
        data = form.cleaned_data
        if form.code_verified:
            return self.register_now(form)
        # The same work for every address: the password is hashed and the sign-up recorded; the
        # worker creates the account, or mails the owner of an address that has one.
        proof = services.signup_request(
            email=data["email"],
            username=data["username"],
            password=data["password1"],
            language=request_language(self.request),
        )
        # This browser chose the password: its confirmation keeps it (services.email_confirm).
        proofs = self.request.session.get(SIGNUP_PROOFS_SESSION_KEY, [])[-4:]
        self.request.session[SIGNUP_PROOFS_SESSION_KEY] = [*proofs, proof]
        return self.sent_redirect(data["email"], proof)

    def register_now(self, form):
        """A right code proved the address (and that it has no account): the account is ready."""
        data = form.cleaned_data
        try:
            user = services.user_register(
                email=data["email"],
                username=data["username"],
                password=data["password1"],
                language=request_language(self.request),
                confirmed=True,
            )
        except IntegrityError:  # the same address or username was registered a moment ago
            field = "email" if get_user_model()._default_manager.filter(email=data["email"]).exists() else "username"
            form.add_error(field, _("That is taken. Please choose another."))
            return self.form_invalid(form)
        login(self.request, user, backend=AUTH_BACKEND)
        messages.success(self.request, _("Welcome, %(name)s! Your account is ready.") % {"name": user.username})
        return redirect("home")

    def sent_redirect(self, email, proof):
        """The same answer for a new account and an address that has one."""
        if app_settings.ACCOUNTS_EMAIL_VERIFICATION_BY_CODE:
            self.request.session[verification.PENDING_KEY] = verification.verification_pending(email=email, proof=proof)
            return redirect("accounts:confirm-code")
        return confirm_sent_redirect(self.request, email)


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
        services.confirmation_resend(email=email)
        return confirm_sent_redirect(self.request, email)


class TokenLinkView(View):
    """GET shows what the link would do and one button; only the POST does it, because mail
    scanners fetch links. A bad, expired or used link gets a 400 page that changes nothing."""

    template_name = ""
    invalid_template_name = ""
    check = None  # service: token -> target, or TokenError
    apply = None  # service: token -> user, or TokenError

    def dispatch(self, request, *args, **kwargs):
        limited = rate_limited(request, "confirm")
        if limited:
            return limited
        return private(super().dispatch(request, *args, **kwargs))

    def get(self, request, token):
        try:
            target = self.check(token=token)
        except TokenError as error:
            return self.invalid(error)
        return render(request, self.template_name, self.get_context(target))

    def post(self, request, token):
        try:
            user = self.apply(token=token)
        except TokenError as error:
            return self.invalid(error)
        return self.done(user)

    def invalid(self, error):
        context = {"reason": error.reason, "form": forms.EmailForm()}
        return render(self.request, self.invalid_template_name, context, status=400)


class ConfirmView(TokenLinkView):
    """Confirms an address. If the account's password was chosen by a browser other than this
    one, it could be a squatter's, so this page asks for a new password first."""

    template_name = "accounts/confirm.html"
    invalid_template_name = "accounts/confirm_invalid.html"
    check = staticmethod(services.email_confirm_check)

    def proofs(self):
        return self.request.session.get(SIGNUP_PROOFS_SESSION_KEY, [])

    def get_context(self, user, form=None):
        if form is None and services.confirm_needs_password(user=user, proofs=self.proofs()):
            form = forms.SetPasswordForm(user)
        return {"email": user.email, "form": form}

    def post(self, request, token):
        try:
            user = self.check(token=token)
            form = None
            if services.confirm_needs_password(user=user, proofs=self.proofs()):
                form = forms.SetPasswordForm(user, request.POST)
                if not form.is_valid():
                    return render(request, self.template_name, self.get_context(user, form))
            new_password = form.cleaned_data["new_password1"] if form else None
            user = services.email_confirm(token=token, proofs=self.proofs(), new_password=new_password)
        except TokenError as error:
            return self.invalid(error)
        except services.PasswordRequired:  # the password changed between the check and now
            return render(request, self.template_name, self.get_context(user))
        # No new password was asked for, so this browser chose the password: it signed up.
        signed_up_here = form is None and user.has_usable_password()
        return self.done(user, log_in=signed_up_here and settings.ACCOUNTS_LOGIN_ON_EMAIL_CONFIRMATION)

    def done(self, user, log_in=False):
        messages.success(self.request, _("Thank you: %(email)s is confirmed.") % {"email": user.email})
        if self.request.user.is_authenticated:
            return redirect("home")
        if log_in:
            login(self.request, user, backend=AUTH_BACKEND)
            messages.success(self.request, logged_in_message(user))
            return redirect(settings.LOGIN_REDIRECT_URL)
        messages.info(self.request, _("You can log in now."))
        return redirect("accounts:login")


# ------------------------------------------------------------------------------------------------
# Log-in and log-out
# ------------------------------------------------------------------------------------------------
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
        response = super().form_valid(form)
        messages.success(self.request, logged_in_message(form.get_user()))
        return response


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
# Passwords
# ------------------------------------------------------------------------------------------------
class PasswordResetView(auth_views.PasswordResetView):
    form_class = forms.PasswordResetForm
    template_name = "accounts/password_reset_form.html"
    success_url = reverse_lazy("accounts:password-reset-done")

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        limited = rate_limited(self.request, "password_reset", key=email)
        if limited:
            return limited
        if not app_settings.ACCOUNTS_PASSWORD_RESET_BY_CODE:
            services.password_reset_request(email=email)  # the worker looks the address up
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
        return super().get_context_data(valid_for=services.duration_text(settings.PASSWORD_RESET_TIMEOUT), **kwargs)


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
            services.password_reset_complete(user=self.user, **request_origin(self.request))
            sessions.sessions_end_others(user=self.user)  # Django's hash check ends them; the list too
        return response


def _reset_mac(token, secret):
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
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        key = self.request.session.session_key  # Django gives this session a new key below
        with transaction.atomic():
            response = super().form_valid(form)
            sessions.sessions_end_others(user=form.user, keep_session_key=key)
            services.password_changed_notify(user=form.user, **request_origin(self.request))
        messages.success(self.request, _("Your password is changed."))
        return response


# ------------------------------------------------------------------------------------------------
# Changing the address
# ------------------------------------------------------------------------------------------------
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
        services.email_change_request(user=self.request.user, new_email=new_email)
        messages.info(
            self.request,
            _(
                "Check the inbox of %(new)s: we sent it an email. "
                "Your address stays %(old)s until you open the link in it."
            )
            % {"new": new_email, "old": self.request.user.email},
        )
        return redirect("home")


class EmailChangeConfirmView(TokenLinkView):
    template_name = "accounts/email_change_confirm.html"
    invalid_template_name = "accounts/email_change_invalid.html"
    check = staticmethod(services.email_change_check)

    def apply(self, token):
        return services.email_change_confirm(token=token, **request_origin(self.request))

    def get_context(self, target):
        user, new_email = target
        return {"username": user.username, "new_email": new_email}

    def done(self, user):
        messages.success(self.request, _("Your email address is now %(email)s.") % {"email": user.email})
        return redirect("home" if self.request.user.is_authenticated else reverse("accounts:login"))


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
