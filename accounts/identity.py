"""The one spelling of an address and of a username that we store, look up, key limits on and
mail to. Every comparison of identities in this project goes through these functions and then
uses an exact match: never `iexact`, `UPPER` or `LOWER` in the database, whose idea of case
(PostgreSQL's `UPPER('ı')` is `'I'`) differs from the spelling a mail server delivers to.

A quoted local part is one more spelling of the same mailbox (RFC 5321 §4.1.2): `"carol"`,
`"c\\arol"` and `carol` are delivered alike. So a quoted local part whose content, once its
escapes are removed, is a dot-atom is written as that dot-atom; one that still needs its quotes
(a space, an `@`, a control character) is refused. An address literal (`carol@[192.0.2.1]`)
names a host by its IP, with no DNS name behind it: refused unless
ACCOUNTS_ALLOW_ADDRESS_LITERALS_WITHOUT_DNS is on, and then written in one form too.
"""

import ipaddress
import re
import unicodedata

import idna
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from .conf import settings

EMAIL_MAX_LENGTH = 254
# RFC 5322 §3.2.3 atext, then dot-atom: atoms joined by single dots.
DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")
# RFC 5321 §4.1.2 Quoted-string: qtextSMTP (printable ASCII but " and \) or a quoted pair.
QUOTED_STRING = re.compile(r'"((?:[ !#-\[\]-~]|\\[ -~])*)"\Z')

MESSAGES = {
    "required": _("Enter your email address."),
    "invalid": _("Enter a valid email address."),
    "non_ascii_local": _(
        "Use an address whose part before the @ has only Latin letters, digits and punctuation: "
        "we cannot deliver to other characters there."
    ),
    "invalid_domain": _("The part after the @ is not a valid domain name."),
    "too_long": _("An email address can have at most 254 characters."),
    "quoted_local": _(
        "Use an address without quotes, spaces or a second @ before the @: we do not send to such addresses."
    ),
    "address_literal": _("Use an address with a domain name after the @, not an IP address in brackets."),
}


def _error(code):
    return ValidationError(MESSAGES[code], code=code)


def email_canonical(address):
    """The canonical form of `address`: the local part unquoted where it can be, then lower-cased
    (ASCII only), and the domain in IDNA A-labels after UTS 46 mapping, so `Carol@ＧＭＡＩＬ.com`,
    `"Carol"@gmail.com` and `carol@gmail.com` are one address while `carol@gmaıl.com` is
    `carol@xn--gmal-nza.com`, another one. Raises ValidationError (with a message for the person)
    for what cannot be canonicalised or delivered."""
    text = address.strip() if isinstance(address, str) else ""
    if not text:
        raise _error("required")
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise _error("invalid")
    if not local.isascii():  # SMTPUTF8 is not supported end to end
        raise _error("non_ascii_local")
    canonical = f"{_local_canonical(local)}@{_domain_canonical(domain)}"
    if len(canonical) > EMAIL_MAX_LENGTH:
        raise _error("too_long")
    try:
        validate_email(canonical)
    except ValidationError:
        raise _error("invalid") from None
    return canonical


def _local_canonical(local):
    """A dot-atom, lower-cased: a quoted string is unquoted and unescaped first, and refused if
    what it says cannot be written without quotes."""
    if local.startswith('"'):
        quoted = QUOTED_STRING.match(local)
        if quoted is None:
            raise _error("invalid")
        local = re.sub(r"\\(.)", r"\1", quoted.group(1))
        if not DOT_ATOM.match(local):
            raise _error("quoted_local")
    elif not DOT_ATOM.match(local):
        raise _error("quoted_local" if re.search(r'["\\ ]', local) else "invalid")
    return local.lower()


def _domain_canonical(domain):
    if domain.startswith("["):
        return _literal_canonical(domain)
    try:
        return idna.encode(domain.removesuffix("."), uts46=True, std3_rules=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        raise _error("invalid_domain") from None


def _literal_canonical(domain):
    """`[192.0.2.1]` in one spelling (RFC 5321 §4.1.3), when allowed. IPv6 literals are refused:
    the outbox, as Django's validate_email, does not take RFC 5321's `[IPv6:...]` form."""
    if not settings.ACCOUNTS_ALLOW_ADDRESS_LITERALS_WITHOUT_DNS:
        raise _error("address_literal")
    try:
        return f"[{ipaddress.IPv4Address(domain[1:-1] if domain.endswith(']') else '')}]"
    except ValueError:
        raise _error("invalid_domain") from None


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
