"""/api/v1/{client}/auth/2fa and /reauthenticate, /api/v1/{client}/account/authenticators/...:
the second factor's step of a log-in, re-authentication, and managing the factors. Thin over
accounts.flows, as the pages are.

A change of factors needs a fresh proof (accounts.flows.mfa.reauth_fresh): without one the answer
is 401 `reauthentication_required`, whose `methods` say how to give one (POST
.../auth/reauthenticate)."""

from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from ninja import Router, Status

from ..conf import settings
from ..flows import mfa, recovery_codes, totp
from ..flows.code_verification import CodeError
from ..flows.notices import mfa_notify
from ..flows.second_factor import mfa_login_by_code, reauth_by_proof, reauth_code_send
from ..models import Authenticator
from ..origin import request_origin
from . import schemas as s
from .clients import ClientKind, client_auth, client_for
from .common import code_problem, session_out
from .problems import ApiProblem, field_problem, limited

router = Router(tags=["second factor"])


def _problem(error, field="code"):
    if isinstance(error, mfa.MfaLimited):
        return limited(error.retry_after, error.message)
    if error.code == "expired":
        return ApiProblem(400, error.message, code="expired")
    return field_problem(field, error.message, error.code)


def reauth_require(request, user):
    """Raise the 401 that names the ways to re-authenticate, unless a fresh proof was given."""
    if not mfa.reauth_fresh(request):
        raise ApiProblem(
            401,
            _("Confirm it is you first: this change needs a proof of identity from the last 5 minutes."),
            code="reauthentication_required",
            methods=mfa.reauth_methods(user),
        )


# ------------------------------------------------------------------------------------------------
# Log-in and re-authentication
# ------------------------------------------------------------------------------------------------
@router.post("/{client}/auth/2fa", response=s.SessionOut, summary="Pass the second factor of a log-in")
@sensitive_variables("body")
def second_factor(request, client: ClientKind, body: s.SecondFactorIn):
    """After a log-in answered with pending `second_factor`: a code from the authenticator app,
    or a recovery code. Logs in."""
    api_client = client_for(request, client)
    try:
        mfa_login_by_code(request, code=body.code, **request_origin(request))
    except mfa.MfaError as error:
        raise _problem(error) from None
    return session_out(api_client)


@router.post(
    "/{client}/auth/reauthenticate", response=s.ReauthOut, auth=client_auth, summary="Confirm it is you (sudo mode)"
)
@sensitive_variables("body")
def reauthenticate(request, client: ClientKind, body: s.ReauthIn):
    """The password, a code from the authenticator app or, for an account without a password, a
    code emailed by POST .../auth/reauthenticate/code. Lets sensitive changes through for
    ACCOUNTS_REAUTH_TIMEOUT seconds."""
    client_for(request, client)
    try:
        method = reauth_by_proof(
            request, user=request.auth, password=body.password, code=body.code, **request_origin(request)
        )
    except mfa.MfaError as error:
        raise _problem(error, "password" if body.password else "code") from None
    return {"method": method, "expires_in": settings.ACCOUNTS_REAUTH_TIMEOUT}


@router.post(
    "/{client}/auth/reauthenticate/code",
    response={202: s.DetailOut},
    auth=client_auth,
    summary="Email me a code to confirm it is me",
)
def reauthenticate_code(request, client: ClientKind):
    client_for(request, client)
    try:
        reauth_code_send(user=request.auth, ip=request_origin(request)["ip"])
    except CodeError as error:
        raise code_problem(error, field=None) from None
    return Status(202, {"detail": _("We emailed a code to %(email)s.") % {"email": request.auth.email}})


# ------------------------------------------------------------------------------------------------
# Factors
# ------------------------------------------------------------------------------------------------
def _authenticator_out(row):
    return {
        "id": row.pk,
        "type": row.kind,
        "name": row.name,
        "created_at": row.created_at.isoformat(),
        "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
    }


@router.get(
    "/{client}/account/authenticators", response=s.AuthenticatorsOut, auth=client_auth, summary="My second factors"
)
def authenticators_get(request, client: ClientKind):
    """Type, name, when added and last used; never a secret."""
    client_for(request, client)
    user = request.auth
    return {
        "authenticators": [_authenticator_out(row) for row in Authenticator.objects.filter(user=user)],
        "recovery_codes_left": recovery_codes.recovery_codes_left(user=user),
        "second_factor_methods": mfa.second_factor_methods(user),
        "reauthentication_methods": mfa.reauth_methods(user),
    }


@router.post(
    "/{client}/account/authenticators/totp/setup",
    response=s.TotpSetupOut,
    auth=client_auth,
    summary="Start setting up an authenticator app",
)
def totp_setup(request, client: ClientKind):
    """A new key, its otpauth:// URI and QR code. Confirm with a code (POST .../totp)."""
    api_client = client_for(request, client)
    reauth_require(request, request.auth)
    if Authenticator.objects.filter(user=request.auth, kind=Authenticator.Kind.TOTP).exists():
        raise ApiProblem(400, _("You already have an authenticator app."), code="exists")
    secret = totp.totp_setup_start(client=api_client)
    uri = totp.totp_uri(user=request.auth, secret=secret)
    return {"secret": secret, "uri": uri, "qr_svg": totp.totp_qr_svg(uri=uri)}


@router.post(
    "/{client}/account/authenticators/totp",
    response=s.RecoveryCodesOut,
    auth=client_auth,
    summary="Turn on the authenticator app",
)
@sensitive_variables("body")
def totp_activate(request, client: ClientKind, body: s.CodeIn):
    """The first code from the app. Answers with the recovery codes, shown this once."""
    api_client = client_for(request, client)
    user = request.auth
    reauth_require(request, user)
    try:
        totp.totp_activate(user=user, client=api_client, code=body.code, ip=request_origin(request)["ip"])
    except mfa.MfaError as error:
        raise _problem(error) from None
    codes = recovery_codes.recovery_codes_generate(user=user)
    mfa_notify(user=user, event="factor_added", factor="totp", **request_origin(request))
    mfa.reauth_record(request, method="totp", user=user)
    return {"recovery_codes": codes}


@router.delete(
    "/{client}/account/authenticators/totp",
    response=s.AuthenticatorsOut,
    auth=client_auth,
    summary="Remove the authenticator app",
)
def totp_delete(request, client: ClientKind):
    client_for(request, client)
    user = request.auth
    reauth_require(request, user)
    if not totp.totp_remove(user=user):
        raise ApiProblem(404, _("You have no authenticator app."), code="not_found")
    mfa_notify(user=user, event="factor_removed", factor="totp", **request_origin(request))
    return authenticators_get(request, client)


@router.post(
    "/{client}/account/authenticators/recovery-codes",
    response=s.RecoveryCodesOut,
    auth=client_auth,
    summary="Make new recovery codes",
)
def recovery_codes_post(request, client: ClientKind):
    """The old set stops working. The new codes are shown this once."""
    client_for(request, client)
    user = request.auth
    reauth_require(request, user)
    if not mfa.mfa_enabled(user):
        raise ApiProblem(400, _("Set up an authenticator app first: recovery codes stand in for it."), code="no_factor")
    codes = recovery_codes.recovery_codes_generate(user=user)
    mfa_notify(user=user, event="recovery_codes_generated", **request_origin(request))
    return {"recovery_codes": codes}
