"""Encryption at rest for sensitive outbox content (codes, confirmation and reset links).

Keys derive from SECRET_KEY; SECRET_KEY_FALLBACKS still decrypt, so a key rotation loses nothing.
"""

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac

SALT = "mailsite.notifications.outbox"


def _fernet(secret):
    digest = salted_hmac(SALT, "fernet", secret=secret, algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _keys():
    return MultiFernet([_fernet(s) for s in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]])


def encrypt(data: bytes) -> str:
    return _keys().encrypt(data).decode("ascii")


def decrypt(token: str) -> bytes:
    """The plaintext; raises ValueError when no current or fallback key opens it."""
    try:
        return _keys().decrypt(token.encode("ascii"))
    except InvalidToken:
        raise ValueError("outbox content cannot be decrypted with SECRET_KEY or its fallbacks") from None
