"""/api/v1/{client}/account/...: what a logged-in person changes, and the flows' configuration."""

from django.contrib.auth import SESSION_KEY
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from ninja import Path, Router, Status

from .. import forms
from ..conf import settings
from ..flows import email_change as email_change_flow
from ..flows.account_deletion import account_delete
from ..flows.email_change_revert import email_revert
from ..flows.password_reset import password_changed_notify
from ..flows.sessions import device_describe, session_end, session_list, sessions_end_others
from ..models import AppToken
from ..origin import request_origin
from ..tokens import TokenError
from . import schemas as s
from .auth import _token_problem
from .clients import TOKEN_HEADER, ClientKind, client_auth, client_for
from .common import limit, session_out
from .mfa import reauth_require
from .problems import field_problem, invalid

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
        password_changed_notify(user=user, **request_origin(request))
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
    email_change_flow.email_change_request(user=user, new_email=new_email)
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
        user = email_change_flow.email_change_confirm(token=body.key, **request_origin(request))
    except TokenError as error:
        raise _token_problem(error) from None
    return {"email": user.email}


@router.post("/{client}/account/email/revert", response=s.EmailOut, summary="Undo a change of address")
def email_revert_view(request, client: ClientKind, body: s.KeyIn):
    """The key from the link in the notice to the old address. The old address comes back
    (confirmed), the password stops working, every session ends, and a reset link is mailed."""
    client_for(request, client)
    limit(request, "confirm")
    try:
        user = email_revert(token=body.key)
    except TokenError as error:
        raise _token_problem(error) from None
    if client == "browser" and str(request.session.get(SESSION_KEY)) == str(user.pk):
        request.session.flush()  # its row was ended with the others
    return {"email": user.email}


# ------------------------------------------------------------------------------------------------
# Sessions and deletion
# ------------------------------------------------------------------------------------------------
def _current(api_client):
    """(this browser's session key, this app token's id): whichever kind of client is asking."""
    if api_client.kind == "app":
        return None, (api_client.row.pk if api_client.row is not None else None)
    return api_client.request.session.session_key, None


def _browser_row(info):
    return {
        "id": f"b-{info.id}",
        "kind": "browser",
        "current": info.current,
        "created_at": info.created_at.isoformat(),
        "last_used_at": info.last_seen_at.isoformat(),
        "ip": info.ip,
        "user_agent": info.device,
    }


def _app_row(token, token_id):
    return {
        "id": f"a-{token.pk}",
        "kind": "app",
        "current": token.pk == token_id,
        "created_at": token.created_at.isoformat(),
        "last_used_at": token.last_used_at.isoformat(),
        "ip": token.ip,
        "user_agent": device_describe(token.user_agent),
    }


@router.get("/{client}/account/sessions", response=list[s.SessionRow], auth=client_auth, summary="My sessions")
def sessions_get(request, client: ClientKind):
    """Browser sessions and app tokens alike; `current` marks the one asking."""
    session_key, token_id = _current(client_for(request, client))
    rows = [_browser_row(info) for info in session_list(user=request.auth, current_session_key=session_key)]
    tokens = AppToken.objects.filter(user=request.auth).order_by("-last_used_at")
    return rows + [_app_row(token, token_id) for token in tokens]


@router.delete("/{client}/account/sessions", response=s.EndedOut, auth=client_auth, summary="End every other session")
def sessions_delete(request, client: ClientKind):
    """Needs a fresh proof of identity (POST .../auth/reauthenticate), else 401
    `reauthentication_required`."""
    session_key, token_id = _current(client_for(request, client))
    reauth_require(request, request.auth)
    ended = sessions_end_others(user=request.auth, keep_session_key=session_key)
    ended += AppToken.objects.filter(user=request.auth).exclude(pk=token_id).delete()[0]
    return {"ended": ended}


@router.delete(
    "/{client}/account/sessions/{session_id}", response=s.EndedOut, auth=client_auth, summary="End one session"
)
def session_delete_one(request, client: ClientKind, session_id: str = Path(..., max_length=64)):
    client_for(request, client)
    kind, _dash, number = session_id.partition("-")
    if not number.isdigit() or len(number) > 18:
        raise Http404()
    if kind == "a":
        ended = AppToken.objects.filter(user=request.auth, pk=int(number)).delete()[0] > 0
    else:
        ended = kind == "b" and session_end(user=request.auth, session_id=int(number))
    if not ended:
        raise Http404()
    return {"ended": 1}


@router.post("/{client}/account/delete", response=s.SessionOut, auth=client_auth, summary="Delete my account")
@sensitive_variables("body")
def account_delete_view(request, client: ClientKind, body: s.PasswordIn):
    """Needs the current password. Every session of the account ends."""
    api_client = client_for(request, client)
    user = request.auth
    limit(request, "login", key=f"user:{user.pk}")
    if not user.check_password(body.password):
        raise field_problem("password", _("Your password was entered incorrectly."), "password_incorrect")
    api_client.logout()
    account_delete(user=user)
    return session_out(api_client)
