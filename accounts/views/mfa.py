"""Second-factor pages: the log-in step, the security page, setting up and removing an
authenticator app, recovery codes, trusted browsers, and re-authentication ("sudo mode"). Thin
over accounts.flows, which the JSON API calls too."""

from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django.views.generic import FormView

from .. import mfa_forms
from ..conf import settings
from ..flows import mfa, recovery_codes, totp, trust
from ..flows.code_verification import CodeError
from ..flows.notices import mfa_notify
from ..flows.second_factor import mfa_login_by_code, reauth_by_proof, reauth_code_send
from ..models import Authenticator
from ..origin import request_origin
from ..ratelimit import ratelimit_response
from .base import FormPageMixin, logged_in_message, private, safe_next

RECOVERY_CODES_FILENAME = "recovery-codes.txt"


def reauth_required(view):
    """A view that needs a proof of identity within ACCOUNTS_REAUTH_TIMEOUT: without one, the
    person is sent to prove it, and back."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.user.is_authenticated and not mfa.reauth_fresh(request):
            back = (
                request.get_full_path() if request.method == "GET" else safe_next(request, reverse("accounts:security"))
            )
            return redirect(f"{reverse('accounts:reauthenticate')}?{urlencode({'next': back})}")
        return view(request, *args, **kwargs)

    return wrapped


def _limited_or_error(view, form, error, field="code"):
    if isinstance(error, mfa.MfaLimited):
        return ratelimit_response(view.request, error.retry_after, error.message)
    form.add_error(field, error.message)
    return view.form_invalid(form)


# ------------------------------------------------------------------------------------------------
# The log-in step
# ------------------------------------------------------------------------------------------------
@method_decorator(
    [never_cache, sensitive_post_parameters("code"), require_http_methods(["GET", "POST"])], name="dispatch"
)
class SecondFactorView(FormPageMixin, FormView):
    form_class = mfa_forms.SecondFactorForm
    template_name = "accounts/second_factor.html"

    def dispatch(self, request, *args, **kwargs):
        self.pending_user = mfa.mfa_login_pending(request)
        if self.pending_user is None:
            if request.user.is_authenticated:
                return redirect(resolve_url(settings.LOGIN_REDIRECT_URL))
            messages.info(request, _("The log-in timed out or was replaced by another. Please log in again."))
            return redirect("accounts:login")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        methods = mfa.second_factor_methods(self.pending_user)
        return super().get_context_data(methods=methods, **kwargs)

    def form_valid(self, form):
        request = self.request
        next_url = mfa.mfa_login_next(request)
        try:
            user, cookie = mfa_login_by_code(
                request, code=form.cleaned_data["code"], trust=form.cleaned_data["trust"], **request_origin(request)
            )
        except mfa.MfaError as error:
            if error.code == "expired":
                return redirect("accounts:login")
            return _limited_or_error(self, form, error)
        messages.success(request, logged_in_message(user))
        response = redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
        if cookie:
            trust.trust_cookie_set(response, cookie, secure=request.is_secure())
        return response


# ------------------------------------------------------------------------------------------------
# The security page
# ------------------------------------------------------------------------------------------------
@method_decorator([never_cache, login_required, require_http_methods(["GET"])], name="dispatch")
class SecurityView(View):
    template_name = "accounts/security.html"

    def get(self, request):
        user = request.user
        factors = Authenticator.objects.filter(user=user)
        context = {
            "totp": factors.filter(kind=Authenticator.Kind.TOTP).first(),
            "factors": [f for f in factors if f.kind != Authenticator.Kind.RECOVERY_CODES],
            "recovery_left": recovery_codes.recovery_codes_left(user=user),
            "has_recovery": factors.filter(kind=Authenticator.Kind.RECOVERY_CODES).exists(),
            "trusted": trust.trust_list(user=user, request=request),
            "reauth_fresh": mfa.reauth_fresh(request),
        }
        return render(request, self.template_name, context)


def _codes_page(request, codes, *, title):
    text = recovery_codes.recovery_codes_text(codes=codes)
    context = {"codes": codes, "codes_text": text, "filename": RECOVERY_CODES_FILENAME, "title": title}
    return private(render(request, "accounts/recovery_codes.html", context))


# ------------------------------------------------------------------------------------------------
# Authenticator app
# ------------------------------------------------------------------------------------------------
@method_decorator(
    [
        never_cache,
        sensitive_post_parameters("code"),
        require_http_methods(["GET", "POST"]),
        login_required,
        reauth_required,
    ],
    name="dispatch",
)
class TotpSetupView(FormPageMixin, FormView):
    form_class = mfa_forms.TotpConfirmForm
    template_name = "accounts/totp_setup.html"

    def dispatch(self, request, *args, **kwargs):
        if Authenticator.objects.filter(user=request.user, kind=Authenticator.Kind.TOTP).exists():
            messages.info(request, _("You already have an authenticator app. Remove it first to set up another."))
            return redirect("accounts:security")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        client = mfa.request_client(self.request)
        secret = totp.totp_setup_secret(client=client)
        if secret is None or self.request.method == "GET" and "form" not in kwargs:
            secret = totp.totp_setup_start(client=client)
        uri = totp.totp_uri(user=self.request.user, secret=secret)
        context = {"secret": secret, "qr_svg": totp.totp_qr_svg(uri=uri), "uri": uri}
        return super().get_context_data(**context, **kwargs)

    def render_to_response(self, context, **kwargs):
        return private(super().render_to_response(context, **kwargs))

    def form_valid(self, form):
        request, user = self.request, self.request.user
        try:
            totp.totp_activate(
                user=user,
                client=mfa.request_client(request),
                code=form.cleaned_data["code"],
                ip=request_origin(request)["ip"],
            )
        except mfa.MfaError as error:
            return _limited_or_error(self, form, error)
        codes = recovery_codes.recovery_codes_generate(user=user)
        mfa_notify(user=user, event="factor_added", factor="totp", **request_origin(request))
        mfa.reauth_record(request, method="totp")  # the new factor's first code is a fresh proof
        messages.success(request, _("Your authenticator app is set up. Logging in now needs a code from it."))
        return _codes_page(request, codes, title=_("Save your recovery codes"))


@method_decorator([require_POST, login_required, reauth_required], name="dispatch")
class TotpRemoveView(View):
    def post(self, request):
        if totp.totp_remove(user=request.user):
            mfa_notify(user=request.user, event="factor_removed", factor="totp", **request_origin(request))
            messages.success(request, _("The authenticator app was removed."))
        return redirect("accounts:security")


@method_decorator([require_POST, login_required, reauth_required], name="dispatch")
class RecoveryCodesView(View):
    """Make a new set of recovery codes (the old set stops working) and show it once."""

    def post(self, request):
        if not mfa.mfa_enabled(request.user):
            messages.info(request, _("Set up an authenticator app first: recovery codes stand in for it."))
            return redirect("accounts:security")
        codes = recovery_codes.recovery_codes_generate(user=request.user)
        mfa_notify(user=request.user, event="recovery_codes_generated", **request_origin(request))
        return _codes_page(request, codes, title=_("Your new recovery codes"))


@method_decorator([require_POST, login_required], name="dispatch")
class TrustRevokeView(View):
    def post(self, request, trust_id):
        if trust.trust_revoke(user=request.user, trust_id=trust_id):
            messages.success(request, _("That browser is no longer trusted: it will ask for your second factor."))
        return redirect(f"{reverse('accounts:settings')}#trusted")


# ------------------------------------------------------------------------------------------------
# Re-authentication
# ------------------------------------------------------------------------------------------------
@method_decorator(
    [never_cache, sensitive_post_parameters("password", "code"), require_http_methods(["GET", "POST"]), login_required],
    name="dispatch",
)
class ReauthView(FormPageMixin, FormView):
    form_class = mfa_forms.ReauthForm
    template_name = "accounts/reauthenticate.html"

    @property
    def next_url(self):
        return (
            safe_next(self.request, reverse("accounts:security"))
            if (self.request.GET.get("next") or self.request.POST.get("next"))
            else reverse("accounts:security")
        )

    def get_context_data(self, **kwargs):
        methods = mfa.reauth_methods(self.request.user)
        return super().get_context_data(methods=methods, next=self.next_url, **kwargs)

    def post(self, request, *args, **kwargs):
        if request.POST.get("send_code"):
            return self.send_code()
        return super().post(request, *args, **kwargs)

    def send_code(self):
        request = self.request
        try:
            sent = reauth_code_send(user=request.user, ip=request_origin(request)["ip"])
        except CodeError as error:
            retry_after = getattr(error, "retry_after", None)
            if retry_after:
                return ratelimit_response(request, retry_after, error.messages[0])
            messages.error(request, error.messages[0])
        else:
            minutes = max(1, sent.expires_in // 60)
            messages.success(
                request,
                _("We emailed a code to %(email)s. It works for %(minutes)d minutes.")
                % {"email": request.user.email, "minutes": minutes},
            )
        return redirect(f"{reverse('accounts:reauthenticate')}?{urlencode({'next': self.next_url})}")

    def form_valid(self, form):
        request = self.request
        try:
            reauth_by_proof(request, user=request.user, **form.cleaned_data, **request_origin(request))
        except mfa.MfaError as error:
            field = "password" if form.cleaned_data.get("password") else "code"
            return _limited_or_error(self, form, error, field=field)
        return redirect(self.next_url)
