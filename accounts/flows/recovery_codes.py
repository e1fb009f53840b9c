"""Recovery codes: ACCOUNTS_MFA_RECOVERY_CODE_COUNT single-use codes that stand in for a lost
second factor. Shown once when made, stored only as SHA-256 hashes (each code has 64 random bits,
from `secrets`, so a fast hash is enough), and regenerating them kills the old set. Using one, and
running low, sends the owner a security notice.
"""

import hashlib
import hmac
import secrets

from django.db import transaction
from django.utils import timezone

from ..conf import settings
from ..models import Authenticator
from ..ratelimit import ratelimit_consume
from .mfa import MfaLimited

CODE_HEX = 16


def _hash(code):
    return hashlib.sha256(code.encode()).hexdigest()


def recovery_code_clean(code):
    """A typed code in its stored form: lower-case hex without dashes or spaces, or ""."""
    text = "".join((code or "")[:64].split()).replace("-", "").lower()
    return text if len(text) == CODE_HEX and all(c in "0123456789abcdef" for c in text) else ""


def recovery_code_format(code):
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def recovery_codes_generate(*, user) -> list[str]:
    """A new set of codes for `user`, in the form to show (e.g. "3f9a-07c2-..."), replacing any
    old set. The codes are not kept: this is the only time anyone sees them."""
    codes = [secrets.token_hex(CODE_HEX // 2) for _ in range(settings.ACCOUNTS_MFA_RECOVERY_CODE_COUNT)]
    with transaction.atomic():
        Authenticator.objects.filter(user=user, kind=Authenticator.Kind.RECOVERY_CODES).delete()
        Authenticator.objects.create(
            user=user,
            kind=Authenticator.Kind.RECOVERY_CODES,
            data={"codes": [{"hash": _hash(code), "used_at": None} for code in codes]},
        )
    return [recovery_code_format(code) for code in codes]


def recovery_codes_left(*, user) -> int:
    row = Authenticator.objects.filter(user=user, kind=Authenticator.Kind.RECOVERY_CODES).first()
    return sum(1 for entry in row.data.get("codes", []) if not entry.get("used_at")) if row else 0


def recovery_code_use(*, user, code, ip=None, user_agent="") -> bool:
    """Whether `code` is one of `user`'s unused recovery codes; a right one is used up, and the
    owner is told (and warned when ACCOUNTS_MFA_RECOVERY_CODES_LOW are left). Counts against the
    "mfa_verify" limit; raises MfaLimited over it."""
    from .notices import mfa_notify

    wait = ratelimit_consume(action="mfa_verify", key=f"user:{user.pk}", ip=ip)
    if wait:
        raise MfaLimited(wait)
    code = recovery_code_clean(code)
    if not code:
        return False
    wanted = _hash(code)
    with transaction.atomic():
        row = (
            Authenticator.objects.select_for_update().filter(user=user, kind=Authenticator.Kind.RECOVERY_CODES).first()
        )
        if row is None:
            return False
        entries = row.data.get("codes", [])
        found = None
        for entry in entries:  # every hash compared: the time says nothing about which one matched
            if hmac.compare_digest(entry.get("hash", ""), wanted) and not entry.get("used_at"):
                found = entry
        if found is None:
            return False
        found["used_at"] = timezone.now().isoformat()
        row.last_used_at = timezone.now()
        row.save(update_fields=["data", "last_used_at"])
        left = sum(1 for entry in entries if not entry.get("used_at"))
        origin = {"ip": ip, "user_agent": user_agent}
        mfa_notify(user=user, event="recovery_code_used", left=left, **origin)
        if left == settings.ACCOUNTS_MFA_RECOVERY_CODES_LOW:
            mfa_notify(user=user, event="recovery_codes_low", left=left, **origin)
    return True


def recovery_codes_text(*, codes) -> str:
    """The codes as the text file a person downloads."""
    from django.utils.translation import gettext as _

    site = settings.SITE_URL
    head = _("Recovery codes for %(site)s. Each works once, instead of a code from your app.") % {"site": site}
    return head + "\n\n" + "\n".join(codes) + "\n"
