"""Pages and the JSON endpoint for emailed codes: ask for one, and log in with one.

The rules (who gets a code, limits, single use) live in accounts/codes.py; these views validate,
call it, and answer as JSON (for `Accept: application/json`) or as pages and redirects.
"""

import json
from urllib.parse import urlencode, urlsplit, urlunsplit

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.http import JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from .codes import CodeError, CodeLimited, Purpose, clean_email, code_consume, code_send
from .conf import settings
from .forms import CanonicalEmailField
from .ratelimit import client_ip, ratelimit_peek, ratelimit_response

AUTH_BACKEND = "accounts.backends.EmailOrUsernameBackend"
LOGIN_EMAIL_SESSION_KEY = "accounts_code_login_email"


class CodeRequestForm(forms.Form):
    email = CanonicalEmailField(
        label=gettext_lazy("Email address"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    purpose = forms.ChoiceField(choices=Purpose.choices, required=False, widget=forms.HiddenInput)


class CodeLoginForm(forms.Form):
    email = CanonicalEmailField(
        label=gettext_lazy("Email address"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    code = forms.CharField(
        label=gettext_lazy("Code from the email"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def wants_json(request):
    return "application/json" in request.headers.get("Accept", "")


def request_data(request):
    """The POSTed fields, from a form or a JSON object body; None for a body that is neither."""
    if request.content_type != "application/json":
        return request.POST
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):  # RecursionError: a body of 100,000 "["
        return None
    return data if isinstance(data, dict) else None


def safe_next(request, fallback):
    """Where to send the person back to: `next`, else the Referer, if they point at this site."""
    for candidate in (request.POST.get("next"), request.GET.get("next"), request.headers.get("Referer")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return fallback


def with_email(url, email):
    """`url` with ?email=... set, so the page we return to shows the address again."""
    parts = urlsplit(url)
    query = [pair for pair in parts.query.split("&") if pair and not pair.startswith("email=")]
    query.append(urlencode({"email": email}))
    return urlunsplit(parts._replace(query="&".join(query)))


def sent_message(email, purpose, expires_in):
    minutes = max(1, expires_in // 60)
    if purpose == Purpose.LOGIN:
        text = ngettext(
            "If %(email)s belongs to a confirmed account, a log-in code is on its way. "
            "It works for %(minutes)d minute.",
            "If %(email)s belongs to a confirmed account, a log-in code is on its way. "
            "It works for %(minutes)d minutes.",
            minutes,
        )
    else:
        text = ngettext(
            "We emailed a code to %(email)s. It works for %(minutes)d minute.",
            "We emailed a code to %(email)s. It works for %(minutes)d minutes.",
            minutes,
        )
    return text % {"email": email, "minutes": minutes}


def _default_back(purpose):
    if purpose == Purpose.LOGIN:
        return reverse("accounts:login-code-confirm")
    try:
        return reverse("accounts:signup")
    except NoReverseMatch:
        return reverse("accounts:code-send")


def _invalid(request, form, template, context=None):
    """A 400 for JSON callers; for people, the page again with its field errors, as 200 like every
    other form page (sign-up's wrong code included)."""
    if wants_json(request):
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    return render(request, template, {"form": form, **(context or {})})


# ------------------------------------------------------------------------------------------------
# POST /accounts/code/: email me a code (form or JSON)
# ------------------------------------------------------------------------------------------------
@never_cache
@sensitive_post_parameters("password1", "password2", "code")  # the sign-up form posts here without JS
@require_http_methods(["GET", "POST"])
def code_send_view(request):
    purpose = request.GET.get("purpose") if request.GET.get("purpose") in Purpose.values else Purpose.SIGNUP
    next_url = safe_next(request, "")
    if urlsplit(next_url).path == request.path:  # back from this page's own error: use the default
        next_url = ""
    if request.method == "GET":
        form = CodeRequestForm(initial={"email": request.GET.get("email", "")[:254], "purpose": purpose})
        return render(request, "accounts/code_request.html", {"form": form, "next": next_url})
    data = request_data(request)
    if data is None:
        error = {"message": _("Send a JSON object."), "code": "json"}
        return JsonResponse({"errors": {"__all__": [error]}}, status=400)
    form = CodeRequestForm({"purpose": purpose, **{key: data.get(key) for key in ("email", "purpose") if key in data}})
    if not form.is_valid():
        return _invalid(request, form, "accounts/code_request.html", {"next": next_url})
    email, purpose = form.cleaned_data["email"], form.cleaned_data["purpose"] or Purpose.SIGNUP
    try:
        sent = code_send(email=email, purpose=purpose, ip=client_ip(request), language=get_language())
    except CodeLimited as error:
        return ratelimit_response(request, error.retry_after, error.messages[0])
    except CodeError as error:
        form.add_error("email", error)
        return _invalid(request, form, "accounts/code_request.html", {"next": next_url})
    if wants_json(request):
        return JsonResponse({"sent": True, "expires_in": sent.expires_in, "retry_after": sent.retry_after}, status=202)
    messages.success(request, sent_message(email, purpose, sent.expires_in))
    if purpose == Purpose.LOGIN:
        request.session[LOGIN_EMAIL_SESSION_KEY] = email
    return redirect(with_email(next_url or _default_back(purpose), email))


# ------------------------------------------------------------------------------------------------
# /accounts/login/code/ and /accounts/login/code/confirm/: log in with an emailed code
# ------------------------------------------------------------------------------------------------
@never_cache
@require_http_methods(["GET", "POST"])
def login_code_view(request):
    next_url = safe_next(request, "") if request.GET.get("next") or request.POST.get("next") else ""
    if request.method == "GET":
        form = CodeRequestForm(initial={"email": request.GET.get("email", "")[:254], "purpose": Purpose.LOGIN})
        return render(request, "accounts/code_login.html", {"form": form, "next": next_url})
    form = CodeRequestForm({"email": request.POST.get("email", ""), "purpose": Purpose.LOGIN})
    if not form.is_valid():
        return _invalid(request, form, "accounts/code_login.html", {"next": next_url})
    email = form.cleaned_data["email"]
    try:
        sent = code_send(email=email, purpose=Purpose.LOGIN, ip=client_ip(request), language=get_language())
    except CodeLimited as error:
        return ratelimit_response(request, error.retry_after, error.messages[0])
    except CodeError as error:
        form.add_error("email", error)
        return _invalid(request, form, "accounts/code_login.html", {"next": next_url})
    request.session[LOGIN_EMAIL_SESSION_KEY] = email
    messages.success(request, sent_message(email, Purpose.LOGIN, sent.expires_in))
    confirm = reverse("accounts:login-code-confirm")
    return redirect(f"{confirm}?{urlencode({'next': next_url})}" if next_url else confirm)


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def login_code_confirm_view(request):
    next_url = safe_next(request, "") if request.GET.get("next") or request.POST.get("next") else ""
    context = {"next": next_url, "minutes": max(1, settings.ACCOUNTS_CODE_TTL // 60)}
    if request.method == "GET":
        email = request.GET.get("email", "")[:254] or request.session.get(LOGIN_EMAIL_SESSION_KEY, "")
        # Just sent one: "Send a new code" waits as long as the limit would make it (no certain 429).
        context["retry_after"] = _send_wait(email) if email else 0
        return render(
            request, "accounts/code_login_confirm.html", {"form": CodeLoginForm(initial={"email": email}), **context}
        )
    form = CodeLoginForm(request.POST)
    if not form.is_valid():
        return _invalid(request, form, "accounts/code_login_confirm.html", context)
    email = form.cleaned_data["email"]
    try:
        code_consume(email=email, purpose=Purpose.LOGIN, code=form.cleaned_data["code"], ip=client_ip(request))
    except CodeLimited as error:
        return ratelimit_response(request, error.retry_after, error.messages[0])
    except CodeError as error:
        form.add_error("code", error)
        return _invalid(request, form, "accounts/code_login_confirm.html", context)
    user = _login_account(email)
    if user is None:  # deactivated since the code was sent
        form.add_error("code", _("That code is wrong or has expired. Check the latest email, or ask for a new code."))
        return _invalid(request, form, "accounts/code_login_confirm.html", context)
    login(request, user, backend=AUTH_BACKEND)
    request.session.pop(LOGIN_EMAIL_SESSION_KEY, None)
    messages.success(request, _("You are logged in as %(name)s.") % {"name": user.username})
    return redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))


def _send_wait(email):
    try:
        return ratelimit_peek(action="code_send", key=clean_email(email))
    except CodeError:
        return 0


def _login_account(email):
    return (
        get_user_model()._default_manager.filter(email=email, is_active=True, email_confirmed_at__isnull=False).first()
    )
