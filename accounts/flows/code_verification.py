"""Emailed verification codes: send one, consume one, and keep an audit row of each.

A code lives in the cache under its purpose and the (hashed) normalised address, as an HMAC keyed
with the secret key, never in clear. Counters are cache increments, single Redis commands on
django-redis, so they hold across web processes:
  tries     wrong tries at the current code; past ACCOUNTS_CODE_MAX_ATTEMPTS it is dead
  failures  wrong codes for the address today, across codes and purposes (NIST SP 800-63B);
            past ACCOUNTS_CODE_MAX_FAILURES verifying by code is locked until the day is over
  used      one marker per code, set with add(): only one request can ever consume it

Sending and checking answer the same way whether or not an account exists: a request for a code
is recorded and carried out by the worker (accounts/intents.py), so it costs the same for every
address, and a missing code is just a wrong one, with its own tries counter, so nobody learns who
has an account here.
"""

import hashlib
import hmac
import ipaddress
import logging
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from notifications.services import email_send

from ..code_activity import activity_note
from ..conf import settings
from ..errors import AccountsError
from ..identity import email_canonical
from ..intents import intent_record
from ..models import EmailCaptcha, Intent
from ..ratelimit import ratelimit_consume, ratelimit_peek

logger = logging.getLogger(__name__)

SALT = "accounts.codes"
Purpose = EmailCaptcha.Purpose
Outcome = EmailCaptcha.Outcome


class CodeError(ValidationError, AccountsError):
    """A code request or check that cannot go ahead, with a message for the person."""


class CodeLimited(CodeError):
    """Over a limit (a rate limit, or the address's daily lock): answer 429 with Retry-After."""

    def __init__(self, message, *, retry_after, code="rate_limited"):
        super().__init__(message, code=code)
        self.retry_after = retry_after


@dataclass(frozen=True)
class CodeSent:
    """What a caller may tell the person: when the code expires and when to ask again."""

    expires_in: int
    retry_after: int


# Where a client keeps the address a log-in code was sent to, for the page that asks for it.
LOGIN_EMAIL_SESSION_KEY = "accounts_code_login_email"


def code_sent_message(*, email, purpose, expires_in):
    """What the person is told once a code is asked for, by the pages and the API alike."""
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


# ------------------------------------------------------------------------------------------------
# Public services
# ------------------------------------------------------------------------------------------------
def _admit(*, action, email, purpose, ip):
    """The cleaned (email, purpose) for a send or a check, once it is noted and within its limits."""
    email = clean_email(email)
    purpose = clean_purpose(purpose)
    activity_note(action=action, email=email, ip=ip)
    retry_after = ratelimit_consume(action=f"code_{action}", key=email, ip=ip)
    if retry_after:
        raise CodeLimited(_too_many(retry_after), retry_after=retry_after)
    return email, purpose


def code_send(*, email, purpose=Purpose.SIGNUP, ip=None, language=None):
    """Ask for a fresh code for `purpose` to be emailed to `email`, replacing any earlier one.

    The request is recorded for the worker (code_send_process), which decides who gets a code,
    so this costs the same whatever the address and the result is the same either way. Raises
    CodeError for a malformed address, CodeLimited over a limit or while the address is locked.
    """
    email, purpose = _admit(action="send", email=email, purpose=purpose, ip=ip)
    now = timezone.now()
    locked = _failures(email, now) >= settings.ACCOUNTS_CODE_MAX_FAILURES
    intent_record(
        kind=Intent.Kind.CODE, email=email, purpose=purpose, ip=_ip_or_none(ip), language=language or get_language()
    )
    if locked:
        raise _locked_error(now)
    return CodeSent(
        expires_in=settings.ACCOUNTS_CODE_TTL,
        retry_after=ratelimit_peek(action="code_send", key=email, ip=ip),
    )


def code_send_process(*, email, purpose, ip=None, language=None):
    """The worker's half of code_send. A log-in code goes only to an active, confirmed account; a
    sign-up code only to an address without an account (its owner gets a "you already have an
    account" note instead). Every request leaves an audit row saying which it was."""
    now = timezone.now()
    ttl = settings.ACCOUNTS_CODE_TTL
    locked = _failures(email, now) >= settings.ACCOUNTS_CODE_MAX_FAILURES
    user = _account(email)
    with transaction.atomic():
        _retire(email=email, purpose=purpose, now=now)
        outcome = _send_outcome(purpose, user, locked)
        captcha = EmailCaptcha.objects.create(
            email=email,
            purpose=purpose,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl if outcome == Outcome.PENDING else 0),
            ip=ip,
            outcome=outcome,
        )
        if captcha.outcome == Outcome.PENDING:
            code = _new_code()
            # To the account's own address (for log-in), never to the spelling that was typed.
            to = user.email if user is not None else captcha.email
            _mail_code(captcha, code, to=to, language=(user.language if user else None) or language)
            cache.set(_state_key(purpose, email), _state(captcha, code), timeout=ttl + 60)
        elif purpose == Purpose.SIGNUP and user is not None and not locked:
            # Imported here: accounts.flows.signup imports this module (through accounts.flows.email_verification).
            from .signup import signup_existing_notify

            signup_existing_notify(email=email)  # its owner learns why no code came
    logger.info("code_send: %s code %s: %s", purpose, captcha.pk, captcha.outcome)
    return captcha


def code_consume(*, email, purpose, code, ip=None):
    """Use up the code emailed to `email` for `purpose`. Returns None when it is right (once);
    raises CodeError (a ValidationError) with a message for the person when it is wrong, expired,
    dead or locked, and CodeLimited when the address or IP is checking too fast."""
    code = clean_code(code)
    email, purpose = _admit(action="verify", email=email, purpose=purpose, ip=ip)
    now = timezone.now()
    max_failures = settings.ACCOUNTS_CODE_MAX_FAILURES
    if _failures(email, now) >= max_failures:
        raise _locked_error(now)
    state = cache.get(_state_key(purpose, email))
    tries = _count(_tries_key(purpose, email), timeout=settings.ACCOUNTS_CODE_TTL)
    if tries > settings.ACCOUNTS_CODE_MAX_ATTEMPTS:
        _kill(purpose, email, state, Outcome.EXHAUSTED)
        raise CodeError(_("This code was tried too many times. Ask for a new code."), code="exhausted")
    # Take a failure slot before comparing, so concurrent guesses cannot pass the daily limit.
    failures_key = _failures_key(email, now)
    failures = _count(failures_key, timeout=_seconds_left_today(now) + 60)
    if failures > max_failures:
        _kill(purpose, email, state, Outcome.LOCKED)
        raise _locked_error(now)
    if _is_live(state, now) and _matches(state, purpose=purpose, email=email, code=code):
        if cache.add(_used_key(state["id"]), 1, timeout=settings.ACCOUNTS_CODE_TTL + 60):
            _decrement(failures_key)  # a right code is no failure
            _use(purpose, email, state, now)
            return None
    return _wrong(purpose, email, state, now, tries=tries, failures=failures)


def code_audit_expire(*, now=None):
    """Mark audit rows of codes that ran out unused as expired (the cache forgets them silently)."""
    now = now or timezone.now()
    return EmailCaptcha.objects.filter(outcome=Outcome.PENDING, expires_at__lte=now).update(outcome=Outcome.EXPIRED)


# ------------------------------------------------------------------------------------------------
# Input
# ------------------------------------------------------------------------------------------------
def clean_email(email):
    """The canonical address, which every key, row and lookup below uses; CodeError otherwise."""
    try:
        return email_canonical(email)
    except ValidationError as error:
        code = "invalid_email" if error.code == "invalid" else error.code
        raise CodeError(error.messages[0], code=code) from None


def clean_purpose(purpose):
    if not purpose:
        return Purpose.SIGNUP
    if purpose not in Purpose.values:
        raise CodeError(_("Unknown purpose for a code."), code="invalid_purpose")
    return Purpose(purpose)


def clean_code(code):
    """The code as typed, tolerating spaces, dashes and full-width digits; CodeError otherwise."""
    length = settings.ACCOUNTS_CODE_LENGTH
    text = unicodedata.normalize("NFKC", code if isinstance(code, str) else "")
    text = "".join(text.replace("-", "").split())
    if len(text) != length or not all("0" <= ch <= "9" for ch in text):
        raise CodeError(
            ngettext(
                "Enter the %(length)d-digit code from the email.",
                "Enter the %(length)d-digit code from the email.",
                length,
            )
            % {"length": length},
            code="malformed",
        )
    return text


# ------------------------------------------------------------------------------------------------
# Sending
# ------------------------------------------------------------------------------------------------
def _new_code():
    return "".join(secrets.choice("0123456789") for _ in range(settings.ACCOUNTS_CODE_LENGTH))


def _account(email):
    return get_user_model()._default_manager.filter(email=email).first()


def _send_outcome(purpose, user, locked):
    if locked:
        return Outcome.LOCKED
    if purpose == Purpose.LOGIN:
        eligible = user is not None and user.is_active and user.email_confirmed_at is not None
    elif purpose == Purpose.VERIFY_EMAIL:
        eligible = user is not None and user.is_active and user.email_confirmed_at is None
    elif purpose == Purpose.PASSWORD_RESET:
        # An unusable password too: a reverted email change leaves one, and its owner must reset it.
        eligible = user is not None and user.is_active
    else:
        eligible = user is None
    return Outcome.PENDING if eligible else Outcome.WITHHELD


def _retire(*, email, purpose, now):
    """Asking again replaces the earlier code: its tries counter goes, its row says why."""
    live = EmailCaptcha.objects.filter(email=email, purpose=purpose, outcome=Outcome.PENDING)
    live.filter(expires_at__lte=now).update(outcome=Outcome.EXPIRED)
    live.update(outcome=Outcome.REPLACED)
    cache.delete_many([_state_key(purpose, email), _tries_key(purpose, email)])


def _mail_code(captcha, code, *, to, language):
    email_send(
        template="code",
        to=to,
        context={
            "code": code,
            "purpose": captcha.purpose,
            "minutes": max(1, settings.ACCOUNTS_CODE_TTL // 60),
        },
        language=language or get_language(),
        category="urgent",
        sensitive=True,
        redact=[code],
        unsolicited=True,
    )


# ------------------------------------------------------------------------------------------------
# Checking
# ------------------------------------------------------------------------------------------------
def _state(captcha, code):
    return {
        "id": captcha.pk,
        "hash": _code_hash(captcha.purpose, captcha.email, code, settings.SECRET_KEY),
        "expires": captcha.expires_at.timestamp(),
    }


def _code_hash(purpose, email, code, secret):
    return salted_hmac(SALT, f"{purpose}:{email}:{code}", secret=secret, algorithm="sha256").hexdigest()


def _matches(state, *, purpose, email, code):
    # Fallback keys too, so a key rotation does not kill codes already in people's inboxes.
    found = False
    for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        found |= hmac.compare_digest(_code_hash(purpose, email, code, secret), state["hash"])
    return found


def _is_live(state, now):
    return bool(state) and state["expires"] > now.timestamp()


def _use(purpose, email, state, now):
    _forget(purpose, email, state)
    # Whatever a racing request wrote meanwhile (exhausted, replaced): this one claimed the code first.
    EmailCaptcha.objects.filter(pk=state["id"]).update(outcome=Outcome.USED, used_at=now)
    logger.info("code_consume: %s code %s used", purpose, state["id"])


def _wrong(purpose, email, state, now, *, tries, failures):
    if state:
        EmailCaptcha.objects.filter(pk=state["id"]).update(attempts=F("attempts") + 1)
        if not _is_live(state, now):
            _kill(purpose, email, state, Outcome.EXPIRED)
    logger.info("code_consume: wrong %s code (try %d, failure %d today)", purpose, tries, failures)
    if failures >= settings.ACCOUNTS_CODE_MAX_FAILURES:
        _kill(purpose, email, state, Outcome.LOCKED)
        raise _locked_error(now)
    if tries >= settings.ACCOUNTS_CODE_MAX_ATTEMPTS:
        _kill(purpose, email, state, Outcome.EXHAUSTED)
        raise CodeError(_("That code is wrong, and it was the last try. Ask for a new code."), code="exhausted")
    raise CodeError(
        _("That code is wrong or has expired. Check the latest email, or ask for a new code."), code="invalid"
    )


def _kill(purpose, email, state, outcome):
    if not state:
        return
    _forget(purpose, email, state, keep_tries=True)  # later tries still hear "ask for a new code"
    EmailCaptcha.objects.filter(pk=state["id"], outcome=Outcome.PENDING).update(outcome=outcome)


def _forget(purpose, email, state, *, keep_tries=False):
    """Drop the code from the cache, unless a newer code has taken its place meanwhile."""
    current = cache.get(_state_key(purpose, email))
    if current and current["id"] == state["id"]:
        cache.delete(_state_key(purpose, email))
        if not keep_tries:
            cache.delete(_tries_key(purpose, email))


# ------------------------------------------------------------------------------------------------
# Counters, keys, time
# ------------------------------------------------------------------------------------------------
def _count(key, *, timeout):
    """Atomically add one to a counter that starts at zero and expires after `timeout` seconds."""
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=timeout)
        return 1


def _decrement(key):
    try:
        cache.decr(key)
    except ValueError:
        pass


def _failures(email, now):
    return cache.get(_failures_key(email, now)) or 0


def _seconds_left_today(now):
    local = timezone.localtime(now)
    midnight = datetime.combine(local.date() + timedelta(days=1), time.min, tzinfo=local.tzinfo)
    return max(1, int((midnight - local).total_seconds()) + 1)


def _locked_error(now):
    return CodeLimited(
        _(
            "Too many wrong codes were entered for this address today, so codes for it cannot be "
            "used until the day is over (midnight, %(zone)s time)."
        )
        % {"zone": settings.TIME_ZONE},
        retry_after=_seconds_left_today(now),
        code="locked",
    )


def _too_many(seconds):
    return ngettext(
        "Too many requests. Please try again in %(seconds)d second.",
        "Too many requests. Please try again in %(seconds)d seconds.",
        seconds,
    ) % {"seconds": seconds}


def _digest(email):
    return hashlib.sha256(email.encode()).hexdigest()[:32]


def _state_key(purpose, email):
    return f"code:{purpose}:{_digest(email)}"


def _tries_key(purpose, email):
    return f"code:tries:{purpose}:{_digest(email)}"


def _failures_key(email, now):
    return f"code:failures:{_digest(email)}:{timezone.localdate(now).isoformat()}"


def _used_key(captcha_id):
    return f"code:used:{captcha_id}"


def _ip_or_none(ip):
    try:
        return str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        return None
