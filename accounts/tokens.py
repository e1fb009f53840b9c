"""Signed, expiring tokens for the links we email: address confirmation and email change.

A token carries the user's id and the address the link was sent to, signed with the secret key
(SECRET_KEY_FALLBACKS keep old links working through a key rotation) and stamped with the time it
was made. Whether a token is still usable (single use, bound to its address) depends on the
account's state, which the services check; this module only proves who made it and when.
"""

from django.core import signing

from .conf import settings


class TokenError(Exception):
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
    fields = {"u": int, "e": str}

    def timeout(self):
        return settings.ACCOUNTS_CONFIRM_TIMEOUT

    def payload(self, *, user, email):
        return {"u": user.pk, "e": email}

    def make_token(self, *, user, email):
        return signing.dumps(self.payload(user=user, email=email), salt=self.salt, compress=True)

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
    fields = {"u": int, "e": str, "o": str}

    def payload(self, *, user, email):
        return {"u": user.pk, "e": email, "o": user.email}


confirm_token_generator = EmailTokenGenerator()
email_change_token_generator = EmailChangeTokenGenerator()
