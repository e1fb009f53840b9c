"""/api/v1/{client}/account/...: what a logged-in person changes, and the flows' configuration."""

from django.db import transaction
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from ninja import Router, Status

from .. import forms, services
from ..conf import settings
from ..tokens import TokenError
from . import schemas as s
from .auth import _token_problem
from .clients import TOKEN_HEADER, ClientKind, client_auth, client_for
from .common import limit, session_out
from .problems import invalid

router = Router(tags=["account"])


@router.get("/config", response=s.ConfigOut, summary="Which flows are enabled")
def config(request):
    return {
        "flows": {
            "signup_by_code": True,
            "email_verification_by_code": settings.ACCOUNTS_EMAIL_VERIFICATION_BY_CODE,
            "login_by_password": True,
            "login_by_code": True,
            "password_reset_by_code": settings.ACCOUNTS_PASSWORD_RESET_BY_CODE,
            "code_length": settings.ACCOUNTS_CODE_LENGTH,
            "code_ttl": settings.ACCOUNTS_CODE_TTL,
        },
        "client_kinds": ["browser", "app"],
        "session_token_header": TOKEN_HEADER,
        "csrf_header": "X-CSRFToken",
    }


@router.post(
    "/{client}/account/password/change", response=s.SessionOut, auth=client_auth, summary="Change the password"
)
@sensitive_variables("body", "data")
def password_change(request, client: ClientKind, body: s.PasswordChangeIn):
    """Every other session of the account ends; this one goes on."""
    api_client = client_for(request, client)
    user = request.auth
    data = {
        "old_password": body.current_password,
        "new_password1": body.new_password,
        "new_password2": body.new_password,
    }
    form = forms.PasswordChangeForm(user, data)
    if not form.is_valid():
        raise invalid(form)
    with transaction.atomic():
        form.save()
        services.password_changed_notify(user=user)
    api_client.password_changed(user)
    return session_out(api_client)


@router.post(
    "/{client}/account/email/change",
    response={202: s.DetailOut},
    auth=client_auth,
    summary="Ask to change the address",
)
@sensitive_variables("body")
def email_change(request, client: ClientKind, body: s.EmailChangeIn):
    """A link goes to the new address; the account keeps its address until it is used. The answer
    is the same whether or not another account has the new address."""
    client_for(request, client)
    user = request.auth
    limit(request, "email_change", key=f"user:{user.pk}")
    form = forms.EmailChangeForm(user, {"email": body.email, "password": body.password})
    if not form.is_valid():
        raise invalid(form)
    new_email = form.cleaned_data["email"]
    limit(request, "confirm_resend", key=new_email)
    services.email_change_request(user=user, new_email=new_email)
    detail = _(
        "Check the inbox of %(new)s: we sent it an email. Your address stays %(old)s until you open the link in it."
    ) % {"new": new_email, "old": user.email}
    return Status(202, {"detail": detail})


@router.post("/{client}/account/email/change/confirm", response=s.EmailOut, summary="Confirm a new address")
def email_change_confirm(request, client: ClientKind, body: s.KeyIn):
    """The key from the link sent to the new address; works without a session, as the link does."""
    client_for(request, client)
    limit(request, "confirm")
    try:
        user = services.email_change_confirm(token=body.key)
    except TokenError as error:
        raise _token_problem(error) from None
    return {"email": user.email}
