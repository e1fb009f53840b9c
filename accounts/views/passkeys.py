"""Passkeys in the pages (accounts.flows.passkeys): the list where a person adds, names and
removes theirs, and the JSON doors that accounts/static/accounts/passkeys.js calls for each
ceremony (begin: the options; finish: the browser's answer). Log-in by passkey is offered on the
log-in page, by a button and by autofill; sign-up with a passkey has its own page."""

import json

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.generic import FormView, TemplateView

from .. import forms
from ..conf import settings
from ..flows import mfa, passkeys, trust
from ..flows.email_verification import SIGNUP_PROOFS_SESSION_KEY
from ..flows.email_verification_by_code import PENDING_KEY, verification_pending
from ..flows.notices import mfa_notify
from ..origin import request_origin
from ..ratelimit import client_ip, ratelimit_consume, ratelimit_response
from .base import AUTH_BACKEND, logged_in_message, request_language
from .confirmation import CONFIRM_SENT_SESSION_KEY
from .mfa import reauth_required

BODY_MAX_BYTES = 128 * 1024


def _error(message, *, field="credential", code="invalid", status=400):
    return JsonResponse({"errors": {field: [{"message": str(message), "code": code}]}}, status=status)


def _reauth_needed(request):
    """The 401 a script gets for a change of factors without a fresh proof (the page itself
    sends the person to prove it first: accounts.views.mfa.reauth_required)."""
    message = _("Confirm it is you first: this change needs a proof of identity from the last 5 minutes.")
    response = _error(message, field="__all__", code="reauthentication_required", status=401)
    response["Location"] = reverse("accounts:reauthenticate")
    return response


def _next_or_home(request, next_url):
    here = {request.get_host()}
    if isinstance(next_url, str) and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts=here, require_https=request.is_secure()
    ):
        return next_url
    return resolve_url(settings.LOGIN_REDIRECT_URL)


@method_decorator([never_cache, require_POST], name="dispatch")
class PasskeyJsonView(View):
    """A POST with a JSON object body; the answer is JSON. A PasskeyError is a 400 naming its
    field; a body that is no JSON object, or too large, is a 400 too."""

    def dispatch(self, request, *args, **kwargs):
        retry_after = ratelimit_consume(action="passkey", ip=client_ip(request))
        if retry_after:
            return ratelimit_response(request, retry_after)
        return super().dispatch(request, *args, **kwargs)

    def post(self, request):
        if len(request.body) > BODY_MAX_BYTES:
            return _error(_("That answer is too large to be a passkey's."), code="too_large")
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, RecursionError):
            data = None
        if not isinstance(data, dict):
            return _error(_("Send a JSON object."), field="__all__")
        try:
            answer = self.handle(data)
        except passkeys.PasskeyError as error:
            return _error(error.message, field=error.field, code=error.code)
        return answer if isinstance(answer, HttpResponse) else JsonResponse(answer)

    def handle(self, data):
        raise NotImplementedError


# ------------------------------------------------------------------------------------------------
# An account's passkeys
# ------------------------------------------------------------------------------------------------
@method_decorator([never_cache, login_required, reauth_required], name="dispatch")
class PasskeyListView(TemplateView):
    template_name = "accounts/passkeys.html"

    def get_context_data(self, **kwargs):
        found = passkeys.passkey_list(user=self.request.user)
        return super().get_context_data(passkeys=found, name_form=forms.PasskeyNameForm(), **kwargs)


@method_decorator(login_required, name="dispatch")
class PasskeyRegisterBeginView(PasskeyJsonView):
    def handle(self, data):
        if not mfa.reauth_fresh(self.request):
            return _reauth_needed(self.request)
        return {"options": passkeys.passkey_registration_begin(user=self.request.user, store=self.request.session)}


@method_decorator(login_required, name="dispatch")
class PasskeyRegisterFinishView(PasskeyJsonView):
    def handle(self, data):
        request = self.request
        if not mfa.reauth_fresh(request):
            return _reauth_needed(request)
        passkey = passkeys.passkey_registration_finish(
            user=request.user, store=request.session, credential=data.get("credential"), name=data.get("name")
        )
        mfa_notify(user=request.user, event="factor_added", factor="passkey", **request_origin(request))
        # A new factor changes the account's security state; this session's proof stays fresh.
        mfa.reauth_record(request, method="passkey")
        messages.success(request, _("Passkey “%(name)s” added.") % {"name": passkey.name})
        return {"id": passkey.pk, "name": passkey.name, "redirect": reverse("accounts:passkeys")}


@method_decorator([require_POST, login_required], name="dispatch")
class PasskeyRenameView(View):
    def post(self, request, passkey_id):
        form = forms.PasskeyNameForm(request.POST)
        if not form.is_valid():
            messages.error(request, form.errors["name"][0])
            return redirect("accounts:passkeys")
        try:
            passkey = passkeys.passkey_rename(user=request.user, passkey_id=passkey_id, name=form.cleaned_data["name"])
        except passkeys.PasskeyError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Passkey renamed to “%(name)s”.") % {"name": passkey.name})
        return redirect("accounts:passkeys")


@method_decorator([require_POST, login_required, reauth_required], name="dispatch")
class PasskeyRemoveView(View):
    def post(self, request, passkey_id):
        try:
            passkey = passkeys.passkey_remove(user=request.user, passkey_id=passkey_id)
        except passkeys.PasskeyError as error:
            messages.error(request, error.message)
        else:
            mfa_notify(user=request.user, event="factor_removed", factor="passkey", **request_origin(request))
            messages.success(request, _("Passkey “%(name)s” removed.") % {"name": passkey.name})
        return redirect("accounts:passkeys")


# ------------------------------------------------------------------------------------------------
# Log-in with a passkey alone
# ------------------------------------------------------------------------------------------------
class PasskeyLoginBeginView(PasskeyJsonView):
    def handle(self, data):
        return {"options": passkeys.passkey_login_begin(store=self.request.session)}


class PasskeyLoginFinishView(PasskeyJsonView):
    def handle(self, data):
        request = self.request
        user = passkeys.passkey_login_finish(store=request.session, credential=data.get("credential"))
        # A passkey with user verification is two factors in one (something held, and a PIN or
        # a fingerprint): it does not stop at the second-factor step, and is a fresh proof.
        mfa.mfa_login_cancel(request)
        login(request, user, backend=AUTH_BACKEND)
        mfa.reauth_record(request, method="passkey", user=user)
        messages.success(request, logged_in_message(user))
        return {"redirect": _next_or_home(request, data.get("next"))}


# ------------------------------------------------------------------------------------------------
# A passkey as the second factor of a log-in, and for re-authentication
# ------------------------------------------------------------------------------------------------
def _pending_or_error(request):
    user = mfa.mfa_login_pending(request)
    if user is None:
        message = _("The log-in timed out or was replaced by another. Please log in again.")
        raise passkeys.PasskeyError(message, code="expired", field="__all__")
    return user


class PasskeySecondFactorBeginView(PasskeyJsonView):
    def handle(self, data):
        user = _pending_or_error(self.request)
        return {"options": passkeys.passkey_second_factor_begin(user=user, store=self.request.session)}


class PasskeySecondFactorFinishView(PasskeyJsonView):
    def handle(self, data):
        request = self.request
        user = _pending_or_error(request)
        passkeys.passkey_second_factor_verify(user=user, store=request.session, credential=data.get("credential"))
        next_url = mfa.mfa_login_next(request)
        cookie = None
        if data.get("trust") is True:
            origin = request_origin(request)
            cookie = trust.trust_grant(user=user, **origin)
            mfa_notify(user=user, event="browser_trusted", **origin)
        try:
            user = mfa.mfa_login_complete(request, method="passkey")
        except mfa.MfaError as error:
            raise passkeys.PasskeyError(error.message, code=error.code, field="__all__") from None
        messages.success(request, logged_in_message(user))
        response = JsonResponse({"redirect": _next_or_home(request, next_url)})
        if cookie:
            trust.trust_cookie_set(response, cookie, secure=request.is_secure())
        return response


@method_decorator(login_required, name="dispatch")
class PasskeyReauthBeginView(PasskeyJsonView):
    def handle(self, data):
        store, user = self.request.session, self.request.user
        return {"options": passkeys.passkey_second_factor_begin(user=user, store=store, purpose=passkeys.REAUTH)}


@method_decorator(login_required, name="dispatch")
class PasskeyReauthFinishView(PasskeyJsonView):
    def handle(self, data):
        request = self.request
        passkeys.passkey_second_factor_verify(
            user=request.user, store=request.session, credential=data.get("credential"), purpose=passkeys.REAUTH
        )
        mfa.reauth_record(request, method="passkey")
        fallback = reverse("accounts:security")
        next_url = data.get("next")
        return {"redirect": _next_or_home(request, next_url) if next_url else fallback}


# ------------------------------------------------------------------------------------------------
# Sign-up with a passkey instead of a password
# ------------------------------------------------------------------------------------------------
@method_decorator(never_cache, name="dispatch")
class PasskeySignupView(FormView):
    """The page: address, username and a button. Its form is sent by the script as JSON."""

    form_class = forms.PasskeySignupForm
    template_name = "accounts/passkey_signup.html"
    http_method_names = ["get"]

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect("home")
        return super().dispatch(request, *args, **kwargs)


class PasskeySignupBeginView(PasskeyJsonView):
    def handle(self, data):
        form = forms.PasskeySignupForm({"email": data.get("email"), "username": data.get("username")})
        if not form.is_valid():
            return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
        email, username = form.cleaned_data["email"], form.cleaned_data["username"]
        return {"options": passkeys.passkey_signup_begin(store=self.request.session, email=email, username=username)}


class PasskeySignupFinishView(PasskeyJsonView):
    def handle(self, data):
        session = self.request.session
        email, proof = passkeys.passkey_signup_finish(
            store=session, credential=data.get("credential"), language=request_language(self.request)
        )
        # This browser made the passkey: its confirmation keeps it (confirmation.email_confirm).
        session[SIGNUP_PROOFS_SESSION_KEY] = [*session.get(SIGNUP_PROOFS_SESSION_KEY, [])[-4:], proof]
        if settings.ACCOUNTS_EMAIL_VERIFICATION_BY_CODE:
            session[PENDING_KEY] = verification_pending(email=email, proof=proof)
            return {"redirect": reverse("accounts:confirm-code")}
        session[CONFIRM_SENT_SESSION_KEY] = email
        return {"redirect": reverse("accounts:confirm-sent")}
