"""Encryption at rest for the secrets the accounts app must read back (an authenticator app's TOTP
secret), the way the outbox encrypts its sensitive payloads: Fernet keys derived from SECRET_KEY,
with SECRET_KEY_FALLBACKS still decrypting, so a key rotation loses nothing."""

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac

SALT = "mailsite.accounts.secrets"


def _fernet(secret):
    digest = salted_hmac(SALT, "fernet", secret=secret, algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _keys():
    return MultiFernet([_fernet(s) for s in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]])


def secret_encrypt(data: str) -> str:
    return _keys().encrypt(data.encode()).decode("ascii")


def secret_decrypt(token: str) -> str:
    """The plaintext; raises ValueError when no current or fallback key opens it."""
    try:
        return _keys().decrypt(token.encode("ascii")).decode()
    except InvalidToken:
        raise ValueError("the secret cannot be decrypted with SECRET_KEY or its fallbacks") from None
