"""An authenticator app (TOTP, RFC 6238) as a second factor, with pyotp for the algorithm.

Set-up makes a secret that the client keeps (encrypted) until a first right code confirms it; only
then is an `Authenticator` stored, its secret encrypted (accounts.crypto) and never shown again.
A code is accepted at most once: each accepted time step is a `TotpStepUsed` row, unique per
authenticator, so a replay in the same window and a second request racing with the first both
fail. One step of clock drift either way is allowed.

Every attempt counts against the "mfa_verify" limit, per account and per IP. The account's bucket
can be reached only by someone who proved the account's first factor (or is logged in), so a
stranger cannot lock its owner out (docs/second-factor.md).
"""

import hmac
import time

import pyotp
import segno
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..conf import settings
from ..crypto import secret_decrypt, secret_encrypt
from ..models import Authenticator, TotpStepUsed
from ..ratelimit import ratelimit_consume
from .mfa import MfaError, MfaLimited

STEP = 30
DIGITS = 6
DRIFT = 1  # steps either way
SETUP_KEY = "accounts_totp_setup"


def totp_code_clean(code):
    """The digits of a typed code ("123 456" is "123456"), or "" if it is not DIGITS digits."""
    code = "".join((code or "")[:64].split())
    return code if len(code) == DIGITS and code.isascii() and code.isdigit() else ""


def totp_secret_new() -> str:
    return pyotp.random_base32()  # 32 base32 characters: 160 bits, from `secrets`


def totp_uri(*, user, secret) -> str:
    issuer = settings.ACCOUNTS_MFA_TOTP_ISSUER
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP).provisioning_uri(name=user.email, issuer_name=issuer)


def totp_qr_svg(*, uri) -> str:
    """The otpauth:// URI as an inline SVG QR code, drawn here (no image service sees the secret)."""
    return segno.make(uri, error="m").svg_inline(scale=5, dark="#1f2533", light="#ffffff", title=_("QR code"))


def totp_setup_start(*, client) -> str:
    """A new secret for `client`'s logged-in user to add to their app; the client keeps it,
    encrypted, until `totp_activate` confirms it."""
    secret = totp_secret_new()
    client.state[SETUP_KEY] = secret_encrypt(secret)
    client.changed()
    return secret


def totp_setup_secret(*, client):
    """The secret being set up in `client`, or None."""
    token = client.peek().get(SETUP_KEY)
    if not token:
        return None
    try:
        return secret_decrypt(token)
    except ValueError:
        return None


def _limit(user, ip):
    wait = ratelimit_consume(action="mfa_verify", key=f"user:{user.pk}", ip=ip)
    if wait:
        raise MfaLimited(wait)


def _matching_step(secret, code, now):
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP)
    current = int(now // STEP)
    found = None
    for step in range(current - DRIFT, current + DRIFT + 1):  # every step compared: constant work
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def _claim(authenticator, step):
    """Record `step` as used; False if it already was (a replay, or a race another request won)."""
    try:
        with transaction.atomic():
            TotpStepUsed.objects.create(authenticator=authenticator, step=step)
    except IntegrityError:
        return False
    TotpStepUsed.objects.filter(authenticator=authenticator, step__lt=step - 2 * DRIFT - 1).delete()
    return True


def totp_activate(*, user, client, code, ip=None, now=None):
    """Store the authenticator app being set up in `client`, once `code` proves the person's app
    has its secret; returns the Authenticator. Raises MfaError or MfaLimited."""
    _limit(user, ip)
    secret = totp_setup_secret(client=client)
    if secret is None:
        raise MfaError(_("The set-up timed out. Please start again."), code="setup_expired")
    code = totp_code_clean(code)
    step = _matching_step(secret, code, time.time() if now is None else now) if code else None
    if step is None:
        raise MfaError(_("That code is not right. Check the time on your device, and type the newest code."))
    try:
        with transaction.atomic():
            authenticator = Authenticator.objects.create(
                user=user,
                kind=Authenticator.Kind.TOTP,
                name=_("Authenticator app"),
                data={"secret": secret_encrypt(secret)},
                last_used_at=timezone.now(),
            )
            TotpStepUsed.objects.create(authenticator=authenticator, step=step)
    except IntegrityError:
        raise MfaError(_("You already have an authenticator app."), code="exists") from None
    client.state.pop(SETUP_KEY, None)
    client.changed()
    return authenticator


def totp_verify(*, user, code, ip=None, now=None) -> bool:
    """Whether `code` is a right code of `user`'s authenticator app, never accepted before; a
    right code is used up. Raises MfaLimited over the limit."""
    _limit(user, ip)
    authenticator = Authenticator.objects.filter(user=user, kind=Authenticator.Kind.TOTP).first()
    code = totp_code_clean(code)
    if authenticator is None or not code:
        return False
    try:
        secret = secret_decrypt(authenticator.data.get("secret", ""))
    except ValueError:
        return False
    step = _matching_step(secret, code, time.time() if now is None else now)
    if step is None or not _claim(authenticator, step):
        return False
    Authenticator.objects.filter(pk=authenticator.pk).update(last_used_at=timezone.now())
    return True


def totp_remove(*, user):
    """Remove `user`'s authenticator app; True if there was one. With no factor left, the recovery
    codes go too (they would stand in for nothing)."""
    from .mfa import mfa_enabled

    with transaction.atomic():
        removed = Authenticator.objects.filter(user=user, kind=Authenticator.Kind.TOTP).delete()[0] > 0
        if removed and not mfa_enabled(user):
            Authenticator.objects.filter(user=user, kind=Authenticator.Kind.RECOVERY_CODES).delete()
    return removed
