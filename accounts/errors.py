"""The accounts app's errors, under one base class.

The errors a flow raises are defined beside it and derive from AccountsError:
  tokens.TokenError (TokenInvalid, TokenExpired, TokenUsed, TokenAddressTaken)  a link that cannot be used
  confirmation.PasswordRequired   the link proves the address, but the password must be chosen again
  codes.CodeError (CodeLimited)   also a ValidationError, so a form shows it as a field error
"""


class AccountsError(Exception):
    pass


class RateLimitUnavailable(AccountsError):
    """The store that counts hits (Redis) cannot be reached. Nothing may go ahead uncounted, so
    the request fails; mailsite's middleware answers 503 with Retry-After."""
