"""Passkeys (WebAuthn), through py_webauthn: adding, naming and removing them, logging in with one
alone (no password, no username typed), and signing up with one instead of a password.

Every ceremony is two calls. `*_begin` makes a challenge and returns the options for the
browser's navigator.credentials.create() or .get(); `*_finish` checks the browser's answer.

- A challenge is single use, bound to the client's session and expires
  (ACCOUNTS_PASSKEY_CHALLENGE_TIMEOUT). The session (a browser session, or an API app token's
  state) keeps it; the cache keeps a mark of it that exactly one finish can delete, so two
  requests racing with one session cannot both use it.
- The RP ID and the origin come from SITE_URL, never from the request's Host header.
- Sign counters are checked where the authenticator keeps one (non-zero): a count that does not
  grow is refused, by a conditional UPDATE, so a cloned authenticator or a race loses too.
"""

import hashlib
import hmac
import json
import logging
import secrets
import time
from urllib.parse import urlsplit

from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    options_to_json_dict,
    parse_authentication_credential_json,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ..conf import settings
from ..errors import AccountsError
from ..intents import intent_record
from ..models import Intent, Passkey
from .email_verification import signup_proof_of

logger = logging.getLogger(__name__)

CHALLENGE_KEY = "accounts_passkey_challenge"
CREDENTIAL_MAX_BYTES = 64 * 1024  # an attestation with its certificates fits many times over
NAME_MAX_LENGTH = 64
REGISTER, LOGIN, SIGNUP, SECOND_FACTOR, REAUTH = "register", "login", "signup", "second_factor", "reauth"
TRANSPORTS = {transport.value for transport in AuthenticatorTransport}


class PasskeyError(AccountsError):
    """A passkey ceremony or request that cannot go ahead; `message` is for the person, `code`
    for a program, `field` names the input at fault."""

    def __init__(self, message, *, code="invalid", field="credential"):
        super().__init__(message)
        self.message, self.code, self.field = str(message), code, field


FAILED = gettext_lazy("The passkey could not be checked. Please try again.")


# ------------------------------------------------------------------------------------------------
# The relying party: this site as SITE_URL names it
# ------------------------------------------------------------------------------------------------
def passkey_origin():
    """The origin browsers must report: SITE_URL's scheme, host and port."""
    parts = urlsplit(settings.SITE_URL)
    return f"{parts.scheme}://{parts.netloc}"


def passkey_rp_id():
    """The RP ID passkeys are bound to: SITE_URL's host name."""
    return urlsplit(settings.SITE_URL).hostname or ""


def _rp_name():
    return settings.ACCOUNTS_PASSKEY_RP_NAME or passkey_rp_id()


# ------------------------------------------------------------------------------------------------
# Challenges: single use, in the client's session, expiring
# ------------------------------------------------------------------------------------------------
def _mark(challenge):
    return "accounts:passkey-challenge:" + hashlib.sha256(challenge).hexdigest()


def _challenge_issue(*, store, purpose, user=None, **extra):
    challenge = secrets.token_bytes(32)
    timeout = settings.ACCOUNTS_PASSKEY_CHALLENGE_TIMEOUT
    cache.set(_mark(challenge), purpose, timeout=timeout)
    store[CHALLENGE_KEY] = {
        "purpose": purpose,
        "challenge": bytes_to_base64url(challenge),
        "user": user.pk if user is not None else None,
        "expires": time.time() + timeout,
        **extra,
    }
    return challenge


def _challenge_take(*, store, purpose, user=None):
    """The session's challenge for `purpose`, used up; PasskeyError if there is none, it is
    another ceremony's, another account's, expired, or already used."""
    pending = store.pop(CHALLENGE_KEY, None)
    expired = PasskeyError(
        _("This passkey request has expired or was already used. Please try again."), code="challenge_expired"
    )
    if not isinstance(pending, dict) or pending.get("purpose") != purpose:
        raise expired
    if pending.get("user") != (user.pk if user is not None else None):
        raise expired
    challenge = base64url_to_bytes(pending["challenge"])
    if time.time() > pending.get("expires", 0) or not cache.delete(_mark(challenge)):
        raise expired
    return challenge, pending


# ------------------------------------------------------------------------------------------------
# What the browser sends back
# ------------------------------------------------------------------------------------------------
def _credential_json(credential):
    """The browser's answer as a JSON text for py_webauthn, within bounds."""
    if isinstance(credential, str):
        text = credential
    elif isinstance(credential, dict):
        try:
            text = json.dumps(credential)
        except (TypeError, ValueError):
            raise PasskeyError(FAILED, code="malformed") from None
    else:
        raise PasskeyError(FAILED, code="malformed")
    if len(text) > CREDENTIAL_MAX_BYTES:
        raise PasskeyError(_("That answer is too large to be a passkey's."), code="too_large")
    if "\x00" in text or "\\u0000" in text:
        raise PasskeyError(FAILED, code="malformed")
    return text


def _library(call, **kwargs):
    """A py_webauthn check. Its parsers meet whatever a client sends (bad base64, CBOR, keys of
    the wrong type), so every failure of theirs is the same refusal, never a 500."""
    try:
        return call(**kwargs)
    except Exception as error:  # noqa: BLE001 - see above
        logger.info("passkey refused: %s: %s", type(error).__name__, error)
        raise PasskeyError(FAILED, code="invalid") from None


def _clean_name(name, *, default):
    name = name.strip() if isinstance(name, str) else ""
    if "\x00" in name:
        raise PasskeyError(_("Null characters are not allowed."), code="null_characters", field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise PasskeyError(
            _("Use at most %(count)d characters.") % {"count": NAME_MAX_LENGTH}, code="max_length", field="name"
        )
    return name or default


def _default_name():
    return _("Passkey added %(date)s") % {"date": timezone.localdate().isoformat()}


def _transports(text):
    try:
        found = json.loads(text).get("response", {}).get("transports") or []
    except (ValueError, AttributeError):
        return []
    return [t for t in found if isinstance(t, str) and t in TRANSPORTS][:8] if isinstance(found, list) else []


def _descriptors(passkeys):
    return [
        PublicKeyCredentialDescriptor(
            id=bytes(passkey.credential_id),
            transports=[AuthenticatorTransport(t) for t in passkey.transports if t in TRANSPORTS] or None,
        )
        for passkey in passkeys
    ]


# ------------------------------------------------------------------------------------------------
# Registration (an account adds a passkey)
# ------------------------------------------------------------------------------------------------
def passkey_user_handle(*, user):
    """Our WebAuthn id for `user`: random, no personal data, the same for all its passkeys."""
    handle = Passkey.objects.filter(user=user).values_list("user_handle", flat=True).first()
    return bytes(handle) if handle is not None else secrets.token_bytes(32)


def _registration_options(*, challenge, user_handle, email, username, exclude=()):
    options = generate_registration_options(
        rp_id=passkey_rp_id(),
        rp_name=_rp_name(),
        user_id=user_handle,
        user_name=email,
        user_display_name=username,
        challenge=challenge,
        timeout=settings.ACCOUNTS_PASSKEY_CHALLENGE_TIMEOUT * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(exclude),
    )
    return options_to_json_dict(options)


def passkey_registration_begin(*, user, store):
    """Options for navigator.credentials.create() to add a passkey to `user`'s account."""
    handle = passkey_user_handle(user=user)
    challenge = _challenge_issue(store=store, purpose=REGISTER, user=user, handle=bytes_to_base64url(handle))
    existing = list(Passkey.objects.filter(user=user))
    return _registration_options(
        challenge=challenge, user_handle=handle, email=user.email, username=user.username, exclude=existing
    )


def _registration_verify(*, credential, challenge):
    text = _credential_json(credential)
    verified = _library(
        verify_registration_response,
        credential=text,
        expected_challenge=challenge,
        expected_rp_id=passkey_rp_id(),
        expected_origin=passkey_origin(),
        require_user_verification=True,
    )
    return verified, _transports(text)


def passkey_registration_finish(*, user, store, credential, name=""):
    """Check the browser's answer to passkey_registration_begin and keep the passkey."""
    name = _clean_name(name, default=_default_name())
    challenge, pending = _challenge_take(store=store, purpose=REGISTER, user=user)
    verified, transports = _registration_verify(credential=credential, challenge=challenge)
    try:
        with transaction.atomic():
            return Passkey.objects.create(
                user=user,
                name=name,
                credential_id=verified.credential_id,
                user_handle=base64url_to_bytes(pending["handle"]),
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                transports=transports,
                backed_up=verified.credential_backed_up,
            )
    except IntegrityError:
        raise PasskeyError(_("This passkey is already registered."), code="exists") from None


# ------------------------------------------------------------------------------------------------
# Log-in with a passkey alone, and a passkey as a second factor
# ------------------------------------------------------------------------------------------------
def _authentication_options(*, challenge, allow=(), user_verification=UserVerificationRequirement.REQUIRED):
    options = generate_authentication_options(
        rp_id=passkey_rp_id(),
        challenge=challenge,
        timeout=settings.ACCOUNTS_PASSKEY_CHALLENGE_TIMEOUT * 1000,
        allow_credentials=_descriptors(allow),
        user_verification=user_verification,
    )
    return options_to_json_dict(options)


def passkey_login_begin(*, store):
    """Options for navigator.credentials.get(), with no account named: the browser offers the
    passkeys it has for this site (a button, or autofill with mediation "conditional")."""
    return _authentication_options(challenge=_challenge_issue(store=store, purpose=LOGIN))


def _assertion_check(*, credential, challenge, passkeys, require_user_verification):
    """The passkey among `passkeys` that signed `challenge`, its counter moved on; PasskeyError
    otherwise."""
    text = _credential_json(credential)
    parsed = _library(parse_authentication_credential_json, json_val=text)
    passkey = passkeys.select_related("user").filter(credential_id=parsed.raw_id).first()
    if passkey is None:
        raise PasskeyError(_("This passkey is not registered here."), code="unknown_credential")
    handle = parsed.response.user_handle
    if handle is not None and not hmac.compare_digest(handle, bytes(passkey.user_handle)):
        raise PasskeyError(FAILED, code="invalid")
    verified = _library(
        verify_authentication_response,
        credential=text,
        expected_challenge=challenge,
        expected_rp_id=passkey_rp_id(),
        expected_origin=passkey_origin(),
        credential_public_key=bytes(passkey.public_key),
        credential_current_sign_count=passkey.sign_count,
        require_user_verification=require_user_verification,
    )
    _counter_advance(passkey=passkey, new_count=verified.new_sign_count)
    return passkey


def _counter_advance(*, passkey, new_count):
    now = timezone.now()
    rows = Passkey.objects.filter(pk=passkey.pk)
    if new_count > 0 or passkey.sign_count > 0:
        # Only from the count this check was made against: a parallel use of one count loses.
        moved = rows.filter(sign_count=passkey.sign_count, sign_count__lt=new_count).update(
            sign_count=new_count, last_used_at=now
        )
        if not moved:
            logger.warning("passkey %s: sign count did not grow (a clone, or a replay)", passkey.pk)
            raise PasskeyError(FAILED, code="sign_count")
    else:
        rows.update(last_used_at=now)
    passkey.sign_count, passkey.last_used_at = new_count, now


def passkey_login_finish(*, store, credential):
    """The account whose passkey answered passkey_login_begin's challenge, with the person
    verified by the authenticator (PIN, fingerprint, face). Active and confirmed accounts only."""
    challenge, _pending = _challenge_take(store=store, purpose=LOGIN)
    passkey = _assertion_check(
        credential=credential, challenge=challenge, passkeys=Passkey.objects.all(), require_user_verification=True
    )
    user = passkey.user
    if not user.is_active or user.email_confirmed_at is None:
        raise PasskeyError(
            _("This account cannot log in yet: confirm its address with the link or code we emailed."),
            code="inactive",
        )
    return user


def passkey_second_factor_begin(*, user, store, purpose=SECOND_FACTOR):
    """Options for navigator.credentials.get() limited to `user`'s own passkeys: the second
    factor of a log-in waiting for `user`, or (purpose REAUTH) a fresh proof of the logged-in
    person before a sensitive change."""
    challenge = _challenge_issue(store=store, purpose=purpose, user=user)
    return _authentication_options(
        challenge=challenge,
        allow=list(Passkey.objects.filter(user=user)),
        user_verification=UserVerificationRequirement.PREFERRED,
    )


def passkey_second_factor_verify(*, user, store, credential, purpose=SECOND_FACTOR):
    """Check that one of `user`'s passkeys answered passkey_second_factor_begin; the passkey.
    The caller then completes the log-in (accounts.flows.mfa.mfa_login_complete) or records the
    re-authentication (mfa.reauth_record), with method "passkey"."""
    challenge, _pending = _challenge_take(store=store, purpose=purpose, user=user)
    return _assertion_check(
        credential=credential,
        challenge=challenge,
        passkeys=Passkey.objects.filter(user=user),
        require_user_verification=False,
    )


# ------------------------------------------------------------------------------------------------
# Naming, listing, removing
# ------------------------------------------------------------------------------------------------
def passkey_list(*, user):
    return list(Passkey.objects.filter(user=user))


def _own(user, passkey_id):
    if not isinstance(passkey_id, int) or not 0 < passkey_id < 2**63:
        raise PasskeyError(_("There is no such passkey."), code="not_found", field="id")
    passkey = Passkey.objects.filter(user=user, pk=passkey_id).first()
    if passkey is None:
        raise PasskeyError(_("There is no such passkey."), code="not_found", field="id")
    return passkey


def passkey_rename(*, user, passkey_id, name):
    passkey = _own(user, passkey_id)
    passkey.name = _clean_name(name, default=passkey.name)
    passkey.save(update_fields=["name"])
    return passkey


def passkey_remove(*, user, passkey_id):
    """Remove one of `user`'s passkeys. Logging in with it stops at once; the browser or the
    password manager may still list it until the person deletes it there too."""
    passkey = _own(user, passkey_id)
    passkey.delete()
    return passkey


# ------------------------------------------------------------------------------------------------
# Sign-up with a passkey instead of a password
# ------------------------------------------------------------------------------------------------
def passkey_signup_begin(*, store, email, username):
    """Options for navigator.credentials.create() for an account not made yet. `email` and
    `username` come validated from the sign-up form; the address is not looked up."""
    handle = secrets.token_bytes(32)
    challenge = _challenge_issue(
        store=store, purpose=SIGNUP, email=email, username=username, handle=bytes_to_base64url(handle)
    )
    return _registration_options(challenge=challenge, user_handle=handle, email=email, username=username)


def passkey_signup_finish(*, store, credential, language=None):
    """Record the sign-up for the worker (accounts.flows.signup.signup_process), with the checked
    passkey instead of a password, exactly as a sign-up with a password is: the same work for
    every address, and the account usable only once its address is confirmed. Returns (email,
    proof): the proof the signing-up client keeps (accounts.flows.email_verification.signup_proof)."""
    challenge, pending = _challenge_take(store=store, purpose=SIGNUP)
    verified, transports = _registration_verify(credential=credential, challenge=challenge)
    email, username = pending["email"], pending["username"]
    password_hash = make_password(None)  # no password: unusable, but unique, so the proof is too
    passkey = {
        "name": _default_name(),
        "credential_id": bytes_to_base64url(verified.credential_id),
        "user_handle": pending["handle"],
        "public_key": bytes_to_base64url(verified.credential_public_key),
        "sign_count": verified.sign_count,
        "transports": transports,
        "backed_up": verified.credential_backed_up,
    }
    intent_record(
        kind=Intent.Kind.SIGNUP,
        email=email,
        username=username,
        password_hash=password_hash,
        language=language or settings.LANGUAGE_CODE,
        passkey=passkey,
    )
    return email, signup_proof_of(email=email, password_hash=password_hash)


def passkey_signup_keep(*, user, passkey):
    """The worker's half: the passkey of a sign-up (passkey_signup_finish) on its new account.
    False if the credential belongs to another account already (it is then not kept)."""
    try:
        with transaction.atomic():
            Passkey.objects.create(
                user=user,
                name=passkey["name"][:NAME_MAX_LENGTH],
                credential_id=base64url_to_bytes(passkey["credential_id"]),
                user_handle=base64url_to_bytes(passkey["user_handle"]),
                public_key=base64url_to_bytes(passkey["public_key"]),
                sign_count=passkey["sign_count"],
                transports=passkey["transports"],
                backed_up=passkey["backed_up"],
            )
    except IntegrityError:
        logger.warning("sign-up of user %s: its passkey is registered to another account", user.pk)
        return False
    return True
