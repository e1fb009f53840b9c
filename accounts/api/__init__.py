"""The JSON API of the account flows (/api/v1/), a second door into the same flows as the pages.

It needs django-ninja, the `api` extra; the pages and flows do not."""

try:
    import ninja  # noqa: F401
except ImportError as error:
    raise ImportError(
        "accounts.api needs django-ninja, which is not installed: pip install 'mailsite-apps[api]'", name="ninja"
    ) from error
