"""The one spelling of an address and of a username that we store, look up, key limits on and
mail to. Every comparison of identities in this project goes through these functions and then
uses an exact match: never `iexact`, `UPPER` or `LOWER` in the database, whose idea of case
(PostgreSQL's `UPPER('ı')` is `'I'`) differs from the spelling a mail server delivers to.
"""

import unicodedata

import idna
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

EMAIL_MAX_LENGTH = 254

MESSAGES = {
    "required": _("Enter your email address."),
    "invalid": _("Enter a valid email address."),
    "non_ascii_local": _(
        "Use an address whose part before the @ has only Latin letters, digits and punctuation: "
        "we cannot deliver to other characters there."
    ),
    "invalid_domain": _("The part after the @ is not a valid domain name."),
    "too_long": _("An email address can have at most 254 characters."),
}


def _error(code):
    return ValidationError(MESSAGES[code], code=code)


def email_canonical(address):
    """The canonical form of `address`: the local part lower-cased (ASCII only) and the domain in
    IDNA A-labels after UTS 46 mapping, so `Carol@ＧＭＡＩＬ.com` and `carol@gmail.com` are one
    address while `carol@gmaıl.com` is `carol@xn--gmal-nza.com`, another one. Raises
    ValidationError (with a message for the person) for what cannot be canonicalised or
    delivered."""
    text = address.strip() if isinstance(address, str) else ""
    if not text:
        raise _error("required")
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise _error("invalid")
    if not local.isascii():  # SMTPUTF8 is not supported end to end
        raise _error("non_ascii_local")
    if domain.startswith("["):  # an address literal such as [192.0.2.1]: ASCII or nothing
        if not domain.isascii():
            raise _error("invalid_domain")
        ascii_domain = domain.lower()
    else:
        try:
            ascii_domain = idna.encode(domain.removesuffix("."), uts46=True, std3_rules=True).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            raise _error("invalid_domain") from None
    canonical = f"{local.lower()}@{ascii_domain}"
    if len(canonical) > EMAIL_MAX_LENGTH:
        raise _error("too_long")
    try:
        validate_email(canonical)
    except ValidationError:
        raise _error("invalid") from None
    return canonical


def email_canonical_or_none(address):
    """The canonical form, or None for input that has none (lookups of what a visitor typed)."""
    try:
        return email_canonical(address)
    except ValidationError:
        return None


def username_key(username):
    """The form of a username that lookups and uniqueness use: NFKC, then case-folded."""
    return unicodedata.normalize("NFKC", username if isinstance(username, str) else "").strip().casefold()


def login_key(login):
    """The identity a log-in name stands for (a canonical address or a username key), for lookups
    and rate-limit keys; an address that has no canonical form keys on its case-folded text."""
    login = login.strip() if isinstance(login, str) else ""
    if "@" in login:
        return email_canonical_or_none(login) or username_key(login)
    return username_key(login)
