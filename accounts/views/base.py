"""What the account pages share: rate limits, the answer to a form (the page again, or JSON for a
caller that asks for it), and the pages behind an emailed link."""

import json

from django.http import JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View

from .. import forms
from ..conf import settings
from ..flows.code_verification import CodeLimited
from ..ratelimit import client_ip, ratelimit_consume, ratelimit_response
from ..tokens import TokenError

AUTH_BACKEND = "accounts.backends.EmailOrUsernameBackend"


def rate_limited(request, action, key=None):
    """A 429 response if this hit of `action` is over a limit, else None."""
    retry_after = ratelimit_consume(action=action, key=key, ip=client_ip(request))
    return ratelimit_response(request, retry_after) if retry_after else None


def logged_in_message(user):
    """The one message after any log-in: by password, by code, or by confirming from this browser."""
    return _("You are logged in as %(name)s.") % {"name": user.username}


def request_language(request):
    """The request's language as one of settings.LANGUAGES (Django's own matching: "en-us" is "en")."""
    try:
        return translation.get_supported_language_variant(translation.get_language() or settings.LANGUAGE_CODE)
    except LookupError:
        return settings.LANGUAGE_CODE


def private(response):
    """Pages whose URL holds a token: never cached, never sent to another site as a Referer. Not
    "no-referrer": with it, browsers send `Origin: null` with the page's own form POST, which
    Django's CSRF check refuses."""
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "no-store"
    return response


def safe_next(request, fallback):
    """Where to send the person back to: `next`, else the Referer, if they point at this site."""
    for candidate in (request.POST.get("next"), request.GET.get("next"), request.headers.get("Referer")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return fallback


# ------------------------------------------------------------------------------------------------
# Form pages
# ------------------------------------------------------------------------------------------------
class FormPageMixin:
    """For a FormView: an invalid form is the page again with its field errors, answered with
    `invalid_status` (200, as Django's own form pages, unless a page says otherwise), and a
    refused code (accounts.flows.code_verification) is a 429 over a limit, else an error next to its field."""

    invalid_status = 200

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=self.invalid_status)

    def code_failed(self, form, field, error):
        if isinstance(error, CodeLimited):
            return ratelimit_response(self.request, error.retry_after, error.messages[0])
        form.add_error(field, error)
        return self.form_invalid(form)


class JsonOrPageMixin(FormPageMixin):
    """A form page that a script may call too: with `Accept: application/json`, an invalid form is
    a 400 with the form's errors as JSON (Django's `get_json_data()` shape) instead of the page.
    A 429 follows the same header (accounts.ratelimit.ratelimit_response)."""

    def wants_json(self):
        return "application/json" in self.request.headers.get("Accept", "")

    def request_data(self):
        """The POSTed fields, from a form or a JSON object body; None for a body that is neither."""
        if self.request.content_type != "application/json":
            return self.request.POST
        try:
            data = json.loads(self.request.body or b"{}")
        except (ValueError, RecursionError):  # RecursionError: a body of 100,000 "["
            return None
        return data if isinstance(data, dict) else None

    def form_invalid(self, form):
        if self.wants_json():
            return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
        return super().form_invalid(form)


# ------------------------------------------------------------------------------------------------
# Pages behind an emailed link
# ------------------------------------------------------------------------------------------------
class TokenLinkView(View):
    """GET shows what the link would do and one button; only the POST does it, because mail
    scanners fetch links. A bad, expired or used link gets a 400 page that changes nothing."""

    template_name = ""
    invalid_template_name = ""
    check = None  # flow: token -> target, or TokenError
    apply = None  # flow: token -> user, or TokenError

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
