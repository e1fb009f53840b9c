"""/api/v1/{client}/auth/passkey/... and /api/v1/{client}/account/passkeys...: passkeys through
the API, the same flows as the pages (accounts.flows.passkeys).

Each ceremony is begin (the WebAuthn options) then finish (the browser's or platform's answer).
The challenge is kept in the client's session: the browser client's session cookie, or the app
client's token (an app client that has none gets one with the options, to send with finish)."""

from django.utils.translation import gettext as _
from ninja import Router, Status

from .. import forms
from ..conf import settings
from ..flows import mfa, passkeys
from ..flows.email_verification import SIGNUP_PROOFS_SESSION_KEY
from ..flows.email_verification_by_code import PENDING_KEY, verification_pending
from ..flows.notices import mfa_notify
from ..origin import request_origin
from . import schemas as s
from .clients import ClientKind, client_auth, client_for
from .common import language, limit, session_out
from .mfa import reauth_require
from .problems import ApiProblem, field_problem, invalid

router = Router(tags=["passkeys"])


def _problem(error):
    status = 404 if error.code == "not_found" else 400
    return field_problem(error.field, error.message, error.code, status=status)


def _passkey_out(passkey):
    return {
        "id": passkey.pk,
        "name": passkey.name,
        "created_at": passkey.created_at.isoformat(),
        "last_used_at": passkey.last_used_at.isoformat() if passkey.last_used_at else None,
        "transports": passkey.transports,
        "backed_up": passkey.backed_up,
    }


def _ceremony(request, client, call, **kwargs):
    """Run a flow with the client's session as its store, saved whatever the outcome (a finish
    uses its challenge up even when it refuses the answer)."""
    api_client = client_for(request, client)
    limit(request, "passkey")
    try:
        return api_client, call(store=api_client.state, **kwargs)
    except passkeys.PasskeyError as error:
        raise _problem(error) from None
    finally:
        api_client.changed()


# ------------------------------------------------------------------------------------------------
# Log-in with a passkey alone
# ------------------------------------------------------------------------------------------------
@router.post("/{client}/auth/passkey/login/begin", response=s.PasskeyOptionsOut, summary="Begin a passkey log-in")
def login_begin(request, client: ClientKind):
    """Options naming no account: the authenticator offers the passkeys it has for this site."""
    api_client, options = _ceremony(request, client, passkeys.passkey_login_begin)
    return {"options": options, "session_token": api_client.session_token}


@router.post("/{client}/auth/passkey/login/finish", response=s.SessionOut, summary="Log in with a passkey")
def login_finish(request, client: ClientKind, body: s.PasskeyCredentialIn):
    """A passkey with user verification is two factors in one: no second-factor step follows, and
    the log-in counts as a fresh re-authentication."""
    api_client, user = _ceremony(request, client, passkeys.passkey_login_finish, credential=body.credential)
    mfa.mfa_login_cancel(request)
    api_client.login(user)
    mfa.reauth_record(request, method="passkey", user=user)
    return session_out(api_client)


# ------------------------------------------------------------------------------------------------
# A passkey as the second factor of a log-in, and for re-authentication
# ------------------------------------------------------------------------------------------------
def _pending(request, client):
    client_for(request, client)
    user = mfa.mfa_login_pending(request)
    if user is None:
        raise ApiProblem(
            400, _("The log-in timed out or was replaced by another. Please log in again."), code="expired"
        )
    return user


@router.post(
    "/{client}/auth/2fa/passkey/begin", response=s.PasskeyOptionsOut, summary="Begin the second factor with a passkey"
)
def second_factor_begin(request, client: ClientKind):
    """After a log-in answered with pending `second_factor` and `passkey` among its methods."""
    user = _pending(request, client)
    _client, options = _ceremony(request, client, passkeys.passkey_second_factor_begin, user=user)
    return {"options": options}


@router.post("/{client}/auth/2fa/passkey", response=s.SessionOut, summary="Pass the second factor with a passkey")
def second_factor_finish(request, client: ClientKind, body: s.PasskeyCredentialIn):
    user = _pending(request, client)
    api_client, _passkey = _ceremony(
        request, client, passkeys.passkey_second_factor_verify, user=user, credential=body.credential
    )
    try:
        mfa.mfa_login_complete(request, method="passkey")
    except mfa.MfaError as error:
        raise ApiProblem(400, error.message, code=error.code) from None
    return session_out(api_client)


@router.post(
    "/{client}/auth/reauthenticate/passkey/begin",
    response=s.PasskeyOptionsOut,
    auth=client_auth,
    summary="Begin confirming it is me with a passkey",
)
def reauth_begin(request, client: ClientKind):
    begin = passkeys.passkey_second_factor_begin
    _client, options = _ceremony(request, client, begin, user=request.auth, purpose=passkeys.REAUTH)
    return {"options": options}


@router.post(
    "/{client}/auth/reauthenticate/passkey",
    response=s.ReauthOut,
    auth=client_auth,
    summary="Confirm it is me with a passkey",
)
def reauth_finish(request, client: ClientKind, body: s.PasskeyCredentialIn):
    verify = passkeys.passkey_second_factor_verify
    _ceremony(request, client, verify, user=request.auth, credential=body.credential, purpose=passkeys.REAUTH)
    mfa.reauth_record(request, method="passkey")
    return {"method": "passkey", "expires_in": settings.ACCOUNTS_REAUTH_TIMEOUT}


# ------------------------------------------------------------------------------------------------
# Sign-up with a passkey instead of a password
# ------------------------------------------------------------------------------------------------
@router.post("/{client}/auth/passkey/signup/begin", response=s.PasskeyOptionsOut, summary="Begin a passkey sign-up")
def signup_begin(request, client: ClientKind, body: s.PasskeySignupIn):
    """The address and username are validated as a sign-up's; the address is not looked up."""
    limit(request, "signup")
    form = forms.PasskeySignupForm({"email": body.email, "username": body.username})
    if not form.is_valid():
        raise invalid(form)
    data = form.cleaned_data
    api_client, options = _ceremony(
        request, client, passkeys.passkey_signup_begin, email=data["email"], username=data["username"]
    )
    return {"options": options, "session_token": api_client.session_token}


@router.post("/{client}/auth/passkey/signup/finish", response={202: s.SessionOut}, summary="Sign up with a passkey")
def signup_finish(request, client: ClientKind, body: s.PasskeyCredentialIn):
    """202, as a sign-up with a password: a link (or a code, with email verification by code) is
    on its way, and the account, with this passkey, is usable once the address is confirmed. An
    address that has an account answers the same; its owner is told by mail."""
    api_client, (email, proof) = _ceremony(
        request, client, passkeys.passkey_signup_finish, credential=body.credential, language=language()
    )
    proofs = list(api_client.state.get(SIGNUP_PROOFS_SESSION_KEY, []))[-4:]
    api_client.state[SIGNUP_PROOFS_SESSION_KEY] = [*proofs, proof]
    if settings.ACCOUNTS_EMAIL_VERIFICATION_BY_CODE:
        api_client.state[PENDING_KEY] = verification_pending(email=email, proof=proof)
    api_client.changed()
    return Status(202, session_out(api_client))


# ------------------------------------------------------------------------------------------------
# The account's passkeys
# ------------------------------------------------------------------------------------------------
@router.get("/{client}/account/passkeys", response=list[s.PasskeyOut], auth=client_auth, summary="List passkeys")
def passkey_list(request, client: ClientKind):
    client_for(request, client)
    return [_passkey_out(passkey) for passkey in passkeys.passkey_list(user=request.auth)]


@router.post(
    "/{client}/account/passkeys/begin", response=s.PasskeyOptionsOut, auth=client_auth, summary="Begin adding a passkey"
)
def passkey_add_begin(request, client: ClientKind):
    """Needs a fresh re-authentication, as every change of factors: else 401
    `reauthentication_required`, naming the ways to give one."""
    client_for(request, client)
    reauth_require(request, request.auth)
    api_client, options = _ceremony(request, client, passkeys.passkey_registration_begin, user=request.auth)
    return {"options": options}


@router.post("/{client}/account/passkeys", response={201: s.PasskeyOut}, auth=client_auth, summary="Add a passkey")
def passkey_add(request, client: ClientKind, body: s.PasskeyAddIn):
    _client, passkey = _ceremony(
        request,
        client,
        passkeys.passkey_registration_finish,
        user=request.auth,
        credential=body.credential,
        name=body.name,
    )
    return Status(201, _passkey_out(passkey))


@router.patch(
    "/{client}/account/passkeys/{passkey_id}", response=s.PasskeyOut, auth=client_auth, summary="Rename a passkey"
)
def passkey_rename(request, client: ClientKind, passkey_id: int, body: s.PasskeyNameIn):
    client_for(request, client)
    try:
        passkey = passkeys.passkey_rename(user=request.auth, passkey_id=passkey_id, name=body.name)
    except passkeys.PasskeyError as error:
        raise _problem(error) from None
    return _passkey_out(passkey)


@router.delete(
    "/{client}/account/passkeys/{passkey_id}", response={204: None}, auth=client_auth, summary="Remove a passkey"
)
def passkey_remove(request, client: ClientKind, passkey_id: int):
    client_for(request, client)
    reauth_require(request, request.auth)
    try:
        passkeys.passkey_remove(user=request.auth, passkey_id=passkey_id)
    except passkeys.PasskeyError as error:
        raise _problem(error) from None
    mfa_notify(user=request.auth, event="factor_removed", factor="passkey", **request_origin(request))
    return Status(204, None)
