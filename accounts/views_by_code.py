"""Pages of the flows by code: confirm a new account with the emailed code
(ACCOUNTS_EMAIL_VERIFICATION_BY_CODE) and reset a password with one (ACCOUNTS_PASSWORD_RESET_BY_CODE).
The rules live in accounts.verification and accounts.password_reset."""

from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from . import services
from .codes import CodeError, CodeLimited
from .forms_by_code import PasswordResetCodeForm, VerifyCodeForm
from .origin import request_origin
from .password_reset import password_reset_by_code
from .ratelimit import client_ip, ratelimit_consume, ratelimit_response
from .verification import PENDING_KEY, email_verify_by_code
from .views import RESET_EMAIL_SESSION_KEY

AUTH_BACKEND = "accounts.backends.EmailOrUsernameBackend"


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def email_verify_code_view(request):
    pending = request.session.get(PENDING_KEY) or {}
    email = pending.get("email", "")
    form = VerifyCodeForm(request.POST if request.method == "POST" and "resend" not in request.POST else None)
    context = {"form": form, "email": email}
    if request.method == "GET":
        return render(request, "accounts/confirm_code.html", context)
    if "resend" in request.POST:
        if email:
            retry_after = ratelimit_consume(action="confirm_resend", key=email, ip=client_ip(request))
            if retry_after:
                return ratelimit_response(request, retry_after)
            services.confirmation_resend(email=email)
        messages.info(request, _("If this address still needs confirming, a new code is on its way."))
        return redirect("accounts:confirm-code")
    if not form.is_valid():
        return render(request, "accounts/confirm_code.html", context, status=400)
    try:
        user = email_verify_by_code(pending=pending, code=form.cleaned_data["code"], ip=client_ip(request))
    except CodeLimited as error:
        return ratelimit_response(request, error.retry_after, error.messages[0])
    except CodeError as error:
        form.add_error("code", error)
        return render(request, "accounts/confirm_code.html", context, status=400)
    request.session.pop(PENDING_KEY, None)
    login(request, user, backend=AUTH_BACKEND)
    messages.success(request, _("Thank you: %(email)s is confirmed.") % {"email": user.email})
    return redirect("home")


@never_cache
@sensitive_post_parameters("code", "new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def password_reset_code_view(request):
    if request.method == "GET":
        form = PasswordResetCodeForm(initial={"email": request.session.get(RESET_EMAIL_SESSION_KEY, "")})
        return render(request, "accounts/password_reset_code.html", {"form": form})
    form = PasswordResetCodeForm(request.POST)
    if not form.is_valid():
        return render(request, "accounts/password_reset_code.html", {"form": form}, status=400)
    data = form.cleaned_data
    try:
        password_reset_by_code(
            email=data["email"], code=data["code"], new_password=data["new_password1"], **request_origin(request)
        )
    except CodeLimited as error:
        return ratelimit_response(request, error.retry_after, error.messages[0])
    except CodeError as error:
        form.add_error("code", error)
        return render(request, "accounts/password_reset_code.html", {"form": form}, status=400)
    request.session.pop(RESET_EMAIL_SESSION_KEY, None)
    return redirect("accounts:password-reset-complete")
