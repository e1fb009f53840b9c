"""Signed, expiring tokens for the links we email: address confirmation and email change.

A token carries the user's id, the address the link was sent to and a keyed hash of the account's
security state (password hash, current address, confirmation), signed with the secret key
(SECRET_KEY_FALLBACKS keep old links working through a key rotation) and stamped with the time it
was made. As with Django's PasswordResetTokenGenerator, changing the password or the address
changes the state, so every link made before is dead: a password reset after a stolen password
also kills the email-change link the thief asked for.
"""

import hmac
from datetime import UTC, datetime, timedelta

from django.core import signing
from django.utils.crypto import salted_hmac

from .conf import settings
from .errors import AccountsError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class TokenError(AccountsError):
    """A link that cannot be used. `reason` is "invalid", "expired" or "used"."""

    reason = "invalid"


class TokenInvalid(TokenError):
    reason = "invalid"


class TokenExpired(TokenError):
    reason = "expired"


class TokenUsed(TokenError):
    reason = "used"


class TokenAddressTaken(TokenError):
    """The link is good, but its address now belongs to another account."""

    reason = "taken"


class EmailTokenGenerator:
    """Tokens for "confirm this address" links: {"u": user id, "e": the address it was sent to}."""

    salt = "accounts.tokens.confirm"
    fields = {"u": int, "e": str, "s": str}

    def timeout(self):
        return settings.ACCOUNTS_CONFIRM_TIMEOUT

    def payload(self, *, user, email):
        return {"u": user.pk, "e": email, "s": self._state_hash(user, settings.SECRET_KEY)}

    def make_token(self, *, user, email):
        return signing.dumps(self.payload(user=user, email=email), salt=self.salt, compress=True)

    def _make_hash_value(self, user):
        """What must not change between making a link and using it."""
        confirmed = "" if user.email_confirmed_at is None else int(user.email_confirmed_at.timestamp())
        return f"{user.pk}\0{user.password}\0{user.email}\0{confirmed}"

    def _state_hash(self, user, secret):
        return salted_hmac(self.salt, self._make_hash_value(user), secret=secret, algorithm="sha256").hexdigest()

    def state_matches(self, data, user):
        """True if the account is in the state it was in when the token's link was made."""
        found = False
        for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
            found |= hmac.compare_digest(self._state_hash(user, secret), data["s"])
        return found

    def read_token(self, token):
        """The payload of a token this generator made and that has not expired."""
        try:
            data = signing.loads(token, salt=self.salt, max_age=self.timeout())
        except signing.SignatureExpired:
            raise TokenExpired() from None
        except (signing.BadSignature, ValueError, UnicodeError):
            raise TokenInvalid() from None
        if not isinstance(data, dict) or any(not isinstance(data.get(k), t) for k, t in self.fields.items()):
            raise TokenInvalid()
        return data


class EmailChangeTokenGenerator(EmailTokenGenerator):
    """Tokens for "use this new address" links; "o" is the address being replaced, so the link
    dies once any change of address has been made."""

    salt = "accounts.tokens.email_change"
    fields = {"u": int, "e": str, "o": str, "s": str}

    def payload(self, *, user, email):
        return {**super().payload(user=user, email=email), "o": user.email}


class EmailRevertTokenGenerator(EmailTokenGenerator):
    """Tokens for the "this was not me" link sent to the old address after a change: {"u": user id,
    "o": the old address, "e": the new one}. Unlike the others it is not bound to the password,
    which a thief who knows it can change, but to the change itself: the account's address and the
    time it was confirmed. Reverting, or any later change of address, moves both, so the link works
    once and only for the change it was sent about."""

    salt = "accounts.tokens.email_revert"
    fields = {"u": int, "e": str, "o": str, "s": str}

    def timeout(self):
        return settings.ACCOUNTS_EMAIL_REVERT_TIMEOUT

    def payload(self, *, user, email):
        """`email` is the address the change replaced; the user already has the new one."""
        return {"u": user.pk, "e": user.email, "o": email, "s": self._state_hash(user, settings.SECRET_KEY)}

    def _make_hash_value(self, user):
        confirmed = user.email_confirmed_at
        micros = "" if confirmed is None else (confirmed - EPOCH) // timedelta(microseconds=1)
        return f"{user.pk}\0{user.email}\0{micros}"


confirm_token_generator = EmailTokenGenerator()
email_change_token_generator = EmailChangeTokenGenerator()
email_revert_token_generator = EmailRevertTokenGenerator()
