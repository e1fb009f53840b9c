"""The accounts app's errors, under one base class."""


class AccountsError(Exception):
    pass


class RateLimitUnavailable(AccountsError):
    """The store that counts hits (Redis) cannot be reached. Nothing may go ahead uncounted, so
    the request fails; mailsite's middleware answers 503 with Retry-After."""
