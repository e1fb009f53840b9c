"""Email verification by code after sign-up (ACCOUNTS_EMAIL_VERIFICATION_BY_CODE), allauth's
`email_verification_by_code` flow; accounts.flows.email_verification sends the code.

Sign-up leaves a pending verification in the signing-up client's own session (a browser session or
an API app token): the address and the sign-up's proof (confirmation.signup_proof: a keyed
fingerprint of the address and the password hash this client chose). The code works only together
with it, so the owner of an address cannot be talked into confirming an account someone else made with it and
keeping their password (the squatting that the link flow answers by asking for a new password).
A sign-up with an address that has an account leaves a pending verification whose proof matches
no account: the page looks the same, and no code can complete it.
"""

import hmac

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from ..identity import email_canonical_or_none
from .code_verification import CodeError, Purpose, code_consume
from .email_verification import signup_proof, user_confirm

PENDING_KEY = "accounts_verify_email"


def verification_pending(*, email, proof):
    """What the signing-up client keeps until the code comes back (JSON-serialisable)."""
    return {"email": email_canonical_or_none(email) or "", "proof": proof or ""}


def email_verify_by_code(*, pending, code, ip=None):
    """Confirm the account of a `pending` verification with the code emailed to it; the user.
    Raises CodeError (wrong, expired, dead, locked) and CodeLimited (over a limit)."""
    pending = pending if isinstance(pending, dict) else {}
    email = pending.get("email") or ""
    if not email:
        raise CodeError(_("There is no sign-up waiting for a code here. Sign up, or log in."), code="no_pending")
    code_consume(email=email, purpose=Purpose.VERIFY_EMAIL, code=code, ip=ip)
    user = get_user_model()._default_manager.filter(email=email, is_active=True).first()
    proof = pending.get("proof") if isinstance(pending.get("proof"), str) else ""
    if user is None or not hmac.compare_digest(signup_proof(user=user), proof):
        raise CodeError(_("That code is wrong or has expired. Check the latest email, or ask for a new code."))
    user_confirm(user=user)
    return user
