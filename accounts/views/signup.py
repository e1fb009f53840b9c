"""The sign-up page (accounts.flows.signup), with an optional emailed code that confirms at once."""

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.db import IntegrityError
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView

from .. import forms
from ..conf import settings
from ..flows import email_verification_by_code, signup
from ..flows.email_verification import SIGNUP_PROOFS_SESSION_KEY
from ..ratelimit import ratelimit_response
from .base import AUTH_BACKEND, rate_limited, request_language
from .confirmation import confirm_sent_redirect


@method_decorator([sensitive_post_parameters("password1", "password2", "code"), never_cache], name="dispatch")
class SignupView(FormView):
    form_class = forms.SignupForm
    template_name = "accounts/signup.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect(settings.LOGIN_REDIRECT_URL)
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
        proof = signup.signup_request(
            email=data["email"],
            username=data["username"],
            password=data["password1"],
            language=request_language(self.request),
        )
        # This browser chose the password: its confirmation keeps it (confirmation.email_confirm).
        proofs = self.request.session.get(SIGNUP_PROOFS_SESSION_KEY, [])[-4:]
        self.request.session[SIGNUP_PROOFS_SESSION_KEY] = [*proofs, proof]
        return self.sent_redirect(data["email"], proof)

    def register_now(self, form):
        """A right code proved the address (and that it has no account): the account is ready."""
        data = form.cleaned_data
        try:
            user = signup.user_register(
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
        return redirect(settings.LOGIN_REDIRECT_URL)

    def sent_redirect(self, email, proof):
        """The same answer for a new account and an address that has one."""
        if settings.ACCOUNTS_EMAIL_VERIFICATION_BY_CODE:
            self.request.session[email_verification_by_code.PENDING_KEY] = (
                email_verification_by_code.verification_pending(email=email, proof=proof)
            )
            return redirect("accounts:confirm-code")
        return confirm_sent_redirect(self.request, email)
