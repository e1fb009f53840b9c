"""Account pages. Views check rate limits, validate through a form and hand off to a service."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import IntegrityError, transaction
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView, TemplateView

from . import forms, services
from .ratelimit import client_ip, ratelimit_consume, ratelimit_response
from .tokens import TokenError

CONFIRM_SENT_SESSION_KEY = "accounts_confirm_sent_to"
AUTH_BACKEND = "accounts.backends.EmailOrUsernameBackend"


def rate_limited(request, action, key=None):
    """A 429 response if this hit of `action` is over a limit, else None."""
    retry_after = ratelimit_consume(action=action, key=key, ip=client_ip(request))
    return ratelimit_response(request, retry_after) if retry_after else None


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
        if form.existing_account:
            services.signup_existing_notify(email=data["email"])
            return confirm_sent_redirect(self.request, data["email"])
        try:
            user = services.user_register(
                email=data["email"],
                username=data["username"],
                password=data["password1"],
                language=request_language(self.request),
                confirmed=form.code_verified,
            )
        except IntegrityError:  # the same address or username was registered a moment ago
            field = "email" if get_user_model()._default_manager.filter(email=data["email"]).exists() else "username"
            form.add_error(field, _("That is taken. Please choose another."))
            return self.form_invalid(form)
        if not form.code_verified:
            return confirm_sent_redirect(self.request, user.email)
        login(self.request, user, backend=AUTH_BACKEND)
        messages.success(self.request, _("Welcome, %(name)s! Your account is ready.") % {"name": user.username})
        return redirect("home")


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
    template_name = "accounts/confirm.html"
    invalid_template_name = "accounts/confirm_invalid.html"
    check = staticmethod(services.email_confirm_check)
    apply = staticmethod(services.email_confirm)

    def get_context(self, user):
        return {"email": user.email}

    def done(self, user):
        messages.success(self.request, _("Thank you: %(email)s is confirmed.") % {"email": user.email})
        if self.request.user.is_authenticated:
            return redirect("home")
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
        login_name = (request.POST.get("username") or "").strip().lower()[: forms.EMAIL_MAX_LENGTH]
        return rate_limited(request, "login", key=login_name or None) or super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form, unconfirmed_user=form.unconfirmed_user))


class LogoutView(auth_views.LogoutView):
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
        limited = rate_limited(self.request, "password_reset", key=form.cleaned_data["email"])
        return limited or super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(valid_for=services.duration_text(settings.PASSWORD_RESET_TIMEOUT), **kwargs)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = forms.SetPasswordForm
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password-reset-complete")

    def dispatch(self, *args, **kwargs):
        response = super().dispatch(*args, **kwargs)
        if not self.validlink and response.status_code == 200:
            response.status_code = 400
        return private(response)

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            services.password_reset_complete(user=self.user)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = forms.PasswordChangeForm
    template_name = "accounts/password_change_form.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            services.password_changed_notify(user=form.user)
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

    def form_valid(self, form):
        new_email = form.cleaned_data["email"]
        limited = rate_limited(self.request, "confirm_resend", key=new_email)
        if limited:
            return limited
        services.email_change_request(user=self.request.user, new_email=new_email)
        messages.info(
            self.request,
            _("We sent a link to %(new)s. Your address stays %(old)s until you open that link.")
            % {"new": new_email, "old": self.request.user.email},
        )
        return redirect("home")


class EmailChangeConfirmView(TokenLinkView):
    template_name = "accounts/email_change_confirm.html"
    invalid_template_name = "accounts/email_change_invalid.html"
    check = staticmethod(services.email_change_check)
    apply = staticmethod(services.email_change_confirm)

    def get_context(self, target):
        user, new_email = target
        return {"username": user.username, "new_email": new_email}

    def done(self, user):
        messages.success(self.request, _("Your email address is now %(email)s.") % {"email": user.email})
        return redirect("home" if self.request.user.is_authenticated else reverse("accounts:login"))
