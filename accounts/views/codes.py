"""/accounts/code/: "email me a code", as a page and redirect for people (the sign-up form posts
here without JavaScript) and as JSON for scripts (`Accept: application/json`, a form or a JSON
object body). The rules (who gets a code, limits, single use) live in accounts.flows.code_verification."""

from urllib.parse import urlencode, urlsplit, urlunsplit

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView

from .. import forms
from ..flows.code_verification import LOGIN_EMAIL_SESSION_KEY, CodeError, Purpose, code_send, code_sent_message
from ..ratelimit import client_ip
from .base import JsonOrPageMixin, safe_next


def with_email(url, email):
    """`url` with ?email=... set, so the page we return to shows the address again."""
    parts = urlsplit(url)
    query = [pair for pair in parts.query.split("&") if pair and not pair.startswith("email=")]
    query.append(urlencode({"email": email}))
    return urlunsplit(parts._replace(query="&".join(query)))


def default_back(purpose):
    if purpose == Purpose.LOGIN:
        return reverse("accounts:login-code-confirm")
    try:
        return reverse("accounts:signup")
    except NoReverseMatch:
        return reverse("accounts:code-send")


@method_decorator(
    # The sign-up form posts here without JavaScript, passwords and all.
    [never_cache, sensitive_post_parameters("password1", "password2", "code")],
    name="dispatch",
)
class CodeSendView(JsonOrPageMixin, FormView):
    form_class = forms.CodeRequestForm
    template_name = "accounts/code_request.html"
    http_method_names = ["get", "post"]

    @cached_property
    def purpose(self):
        purpose = self.request.GET.get("purpose")
        return purpose if purpose in Purpose.values else Purpose.SIGNUP

    @cached_property
    def next_url(self):
        next_url = safe_next(self.request, "")
        # Back from this page's own error: go to the default instead.
        return "" if urlsplit(next_url).path == self.request.path else next_url

    def get_initial(self):
        return {"email": self.request.GET.get("email", "")[: forms.EMAIL_MAX_LENGTH], "purpose": self.purpose}

    def get_context_data(self, **kwargs):
        return super().get_context_data(next=self.next_url, **kwargs)

    def post(self, request, *args, **kwargs):
        self.posted = self.request_data()
        if self.posted is None:
            error = {"message": _("Send a JSON object."), "code": "json"}
            return JsonResponse({"errors": {"__all__": [error]}}, status=400)
        return super().post(request, *args, **kwargs)

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if "data" in kwargs:
            fields = {key: self.posted.get(key) for key in ("email", "purpose") if key in self.posted}
            kwargs["data"] = {"purpose": self.purpose, **fields}
        return kwargs

    def form_valid(self, form):
        email, purpose = form.cleaned_data["email"], form.cleaned_data["purpose"] or Purpose.SIGNUP
        try:
            sent = code_send(email=email, purpose=purpose, ip=client_ip(self.request), language=get_language())
        except CodeError as error:
            return self.code_failed(form, "email", error)
        if self.wants_json():
            return JsonResponse(
                {"sent": True, "expires_in": sent.expires_in, "retry_after": sent.retry_after}, status=202
            )
        messages.success(self.request, code_sent_message(email=email, purpose=purpose, expires_in=sent.expires_in))
        if purpose == Purpose.LOGIN:
            self.request.session[LOGIN_EMAIL_SESSION_KEY] = email
        return redirect(with_email(self.next_url or default_back(purpose), email))
