"""/api/v1/{client}/auth/...: sign-up, codes, log-in and log-out, confirmation, password reset.

Each endpoint does what the matching page does, through the same forms and flows, with the
same limits and the same answer whether or not an address has an account."""

from django.contrib.auth import get_user_model
from django.db import IntegrityError
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from ninja import Router, Status

from .. import forms
from ..conf import settings
from ..flows import email_verification
from ..flows.code_verification import CodeError, Purpose, code_send, code_sent_message
from ..flows.email_verification import SIGNUP_PROOFS_SESSION_KEY
from ..flows.email_verification_by_code import PENDING_KEY, email_verify_by_code, verification_pending
from ..flows.login_by_code import login_by_code
from ..flows.mfa import mfa_login_start
from ..flows.password_reset import (
    password_reset_by_code,
    password_reset_by_key,
    password_reset_code_send,
    password_reset_key_user,
    password_reset_request,
)
from ..flows.signup import signup_request, user_register
from ..identity import login_key
from ..origin import request_origin
from ..ratelimit import client_ip
from ..tokens import TokenError
from . import schemas as s
from .clients import ClientKind, client_for
from .common import LOGIN_EMAIL_KEY, RESET_EMAIL_KEY, code_problem, language, limit, session_out
from .problems import ApiProblem, field_problem, invalid

router = Router(tags=["auth"])


def _token_problem(error, field="key"):
    messages = {
        "expired": _("This link has expired. Ask for a new one."),
        "used": _("This link was already used."),
        "taken": _("That address now belongs to another account."),
    }
    return field_problem(field, messages.get(error.reason, _("This link is not valid.")), error.reason)


# ------------------------------------------------------------------------------------------------
# The session
# ------------------------------------------------------------------------------------------------
@router.get("/{client}/auth/session", response=s.SessionOut, summary="The current session")
def session_get(request, client: ClientKind):
    """Who is logged in, whether the address is confirmed, and which flows wait for a next step.
    A browser client gets its csrftoken cookie here."""
    if client == "browser":
        from django.middleware.csrf import get_token

        get_token(request)
    return session_out(client_for(request, client))


@router.delete("/{client}/auth/session", response=s.SessionOut, summary="Log out")
def session_delete(request, client: ClientKind):
    api_client = client_for(request, client)
    api_client.logout()
    return session_out(api_client)


@router.post("/{client}/auth/login", response=s.SessionOut, summary="Log in with a password")
@sensitive_variables("body")
def login(request, client: ClientKind, body: s.LoginIn):
    api_client = client_for(request, client)
    limit(request, "login", key=login_key(body.login[: forms.EMAIL_MAX_LENGTH]) or None)
    form = forms.LoginForm(request, data={"username": body.login, "password": body.password})
    if not form.is_valid():
        raise invalid(form, _("Log-in failed."))
    mfa_login_start(request, user=form.get_user())
    return session_out(api_client)


# ------------------------------------------------------------------------------------------------
# Sign-up, and confirming the address
# ------------------------------------------------------------------------------------------------
@router.post("/{client}/auth/signup", response={200: s.SessionOut, 202: s.SessionOut}, summary="Sign up")
@sensitive_variables("body", "data")
def signup(request, client: ClientKind, body: s.SignupIn):
    """200 and logged in when a right sign-up code came with it. Otherwise 202: a link or (with
    email verification by code) a code is on its way, and `pending` says which. An address that
    has an account answers 202 too; its owner is told by mail."""
    api_client = client_for(request, client)
    limit(request, "signup")
    data = {**body.model_dump(), "password1": body.password, "password2": body.password}
    form = forms.SignupForm(data, request=request)
    if not form.is_valid():
        if form.code_retry_after:
            raise ApiProblem(429, form.errors["code"][0], code="rate_limited", retry_after=form.code_retry_after)
        raise invalid(form)
    data = form.cleaned_data
    if form.code_verified:  # a right code proved the address, and that it has no account
        try:
            user = user_register(
                email=data["email"],
                username=data["username"],
                password=data["password1"],
                language=language(),
                confirmed=True,
            )
        except IntegrityError:
            field = "email" if get_user_model()._default_manager.filter(email=data["email"]).exists() else "username"
            raise field_problem(field, _("That is taken. Please choose another."), "unique") from None
        api_client.login(user)
        return Status(200, session_out(api_client))
    # The same work for every address (README, Security): the worker creates the account or mails
    # the owner of an address that has one.
    proof = signup_request(
        email=data["email"], username=data["username"], password=data["password1"], language=language()
    )
    proofs = list(api_client.state.get(SIGNUP_PROOFS_SESSION_KEY, []))[-4:]
    api_client.state[SIGNUP_PROOFS_SESSION_KEY] = [*proofs, proof]
    if settings.ACCOUNTS_EMAIL_VERIFICATION_BY_CODE:
        api_client.state[PENDING_KEY] = verification_pending(email=data["email"], proof=proof)
    api_client.changed()
    return Status(202, session_out(api_client))


@router.post("/{client}/auth/email/verify", response=s.SessionOut, summary="Confirm the address by a link's key")
@sensitive_variables("body")
def email_verify(request, client: ClientKind, body: s.VerifyKeyIn):
    """The key from a confirmation link. If the account's password was chosen by another client
    (perhaps a squatter), the answer is 400 `password_required`: send a new `password` too."""
    api_client = client_for(request, client)
    limit(request, "confirm")
    proofs = api_client.peek().get(SIGNUP_PROOFS_SESSION_KEY, [])
    try:
        user = email_verification.email_confirm_check(token=body.key)
        new_password = None
        if email_verification.confirm_needs_password(user=user, proofs=proofs):
            if not body.password:
                raise field_problem(
                    "password", _("Choose a new password to confirm this address."), "password_required"
                )
            form = forms.SetPasswordForm(user, {"new_password1": body.password, "new_password2": body.password})
            if not form.is_valid():
                raise invalid(form)
            new_password = body.password
        email_verification.email_confirm(token=body.key, proofs=proofs, new_password=new_password)
    except TokenError as error:
        raise _token_problem(error) from None
    except email_verification.PasswordRequired:
        raise field_problem(
            "password", _("Choose a new password to confirm this address."), "password_required"
        ) from None
    return session_out(api_client)


@router.post("/{client}/auth/email/verify/code", response=s.SessionOut, summary="Confirm the address by code")
def email_verify_code(request, client: ClientKind, body: s.CodeIn):
    """The code emailed after sign-up (email verification by code), from the client that signed
    up. Logs in."""
    api_client = client_for(request, client)
    try:
        user = email_verify_by_code(pending=api_client.peek().get(PENDING_KEY), code=body.code, ip=client_ip(request))
    except CodeError as error:
        raise code_problem(error) from None
    api_client.state.pop(PENDING_KEY, None)
    api_client.login(user)
    return session_out(api_client)


@router.post("/{client}/auth/email/verify/resend", response={202: s.SentOut}, summary="Send a new confirmation")
def email_verify_resend(request, client: ClientKind, body: s.EmailIn):
    form = forms.EmailForm({"email": body.email})
    if not form.is_valid():
        raise invalid(form)
    limit(request, "confirm_resend", key=form.cleaned_data["email"])
    email_verification.confirmation_resend(email=form.cleaned_data["email"])
    by = "code" if settings.ACCOUNTS_EMAIL_VERIFICATION_BY_CODE else "link"
    return Status(202, {"detail": _("If this address needs confirming, a new message is on its way."), "by": by})


# ------------------------------------------------------------------------------------------------
# Codes
# ------------------------------------------------------------------------------------------------
@router.post("/{client}/auth/code/request", response={202: s.CodeSentOut}, summary="Email me a code")
def code_request(request, client: ClientKind, body: s.CodeRequestIn):
    """A code for sign-up (type it with the sign-up), log-in, confirming an address after sign-up,
    or a password reset. The answer is the same whether or not the address has an account."""
    api_client = client_for(request, client)
    form = forms.CodeRequestForm({"email": body.email, "purpose": body.purpose})
    if not form.is_valid():
        raise invalid(form)
    email, purpose = form.cleaned_data["email"], form.cleaned_data["purpose"] or Purpose.SIGNUP
    try:
        sent = code_send(email=email, purpose=purpose, ip=client_ip(request), language=language())
    except CodeError as error:
        raise code_problem(error, field="email") from None
    state_key = {Purpose.LOGIN: LOGIN_EMAIL_KEY, Purpose.PASSWORD_RESET: RESET_EMAIL_KEY}.get(purpose)
    if state_key:
        api_client.state[state_key] = email
        api_client.changed()
    body = {
        "detail": code_sent_message(email=email, purpose=purpose, expires_in=sent.expires_in),
        "expires_in": sent.expires_in,
    }
    return Status(202, {**body, "retry_after": sent.retry_after, "session_token": api_client.session_token})


@router.post("/{client}/auth/code/login", response=s.SessionOut, summary="Log in with a code")
def code_login(request, client: ClientKind, body: s.CodeLoginIn):
    api_client = client_for(request, client)
    form = forms.CodeRequestForm({"email": body.email, "purpose": Purpose.LOGIN})
    if not form.is_valid():
        raise invalid(form)
    try:
        user = login_by_code(email=form.cleaned_data["email"], code=body.code, ip=client_ip(request))
    except CodeError as error:
        raise code_problem(error) from None
    mfa_login_start(request, user=user)
    return session_out(api_client)


# ------------------------------------------------------------------------------------------------
# Password reset
# ------------------------------------------------------------------------------------------------
@router.post("/{client}/auth/password/request", response={202: s.SentOut}, summary="Ask for a password reset")
def password_request(request, client: ClientKind, body: s.EmailIn):
    """A link, or a code with password reset by code; the same answer whether or not the address
    has an account."""
    api_client = client_for(request, client)
    form = forms.PasswordResetForm({"email": body.email})
    if not form.is_valid():
        raise invalid(form)
    email = form.cleaned_data["email"]
    limit(request, "password_reset", key=email)
    detail = _("If the address has an account, we emailed it what it needs to choose a new password.")
    if not settings.ACCOUNTS_PASSWORD_RESET_BY_CODE:
        password_reset_request(email=email)  # the worker looks the address up
        return Status(202, {"detail": detail, "by": "link"})
    try:
        password_reset_code_send(email=email, ip=client_ip(request), language=language())
    except CodeError as error:
        raise code_problem(error, field="email") from None
    api_client.state[RESET_EMAIL_KEY] = email
    api_client.changed()
    return Status(202, {"detail": detail, "by": "code", "session_token": api_client.session_token})


@router.post("/{client}/auth/password/reset", response=s.DetailOut, summary="Reset the password by a link's key")
@sensitive_variables("body")
def password_reset(request, client: ClientKind, body: s.ResetKeyIn):
    client_for(request, client)
    limit(request, "confirm")
    try:
        user = password_reset_key_user(key=body.key)
    except TokenError as error:
        raise _token_problem(error) from None
    form = forms.SetPasswordForm(user, {"new_password1": body.password, "new_password2": body.password})
    if not form.is_valid():
        raise invalid(form)
    password_reset_by_key(user=user, set_password_form=form, **request_origin(request))
    return {"detail": _("Your password is changed. You can log in now.")}


@router.post("/{client}/auth/password/reset/code", response=s.DetailOut, summary="Reset the password by code")
@sensitive_variables("body", "data")
def password_reset_code(request, client: ClientKind, body: s.ResetCodeIn):
    api_client = client_for(request, client)
    data = {"email": body.email, "code": body.code, "new_password1": body.password, "new_password2": body.password}
    form = forms.PasswordResetCodeForm(data)
    if not form.is_valid():
        raise invalid(form)
    try:
        password_reset_by_code(
            email=form.cleaned_data["email"],
            code=form.cleaned_data["code"],
            new_password=body.password,
            **request_origin(request),
        )
    except CodeError as error:
        raise code_problem(error) from None
    if api_client.peek().get(RESET_EMAIL_KEY):
        api_client.state.pop(RESET_EMAIL_KEY, None)
        api_client.changed()
    return {"detail": _("Your password is changed. You can log in now.")}
