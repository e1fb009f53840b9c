"""Amazon SNS message signatures, checked as AWS documents them.

Anymail's SES view checks only basic auth (its source: "Future: Verify SNS message signature"), and
the basic-auth password is part of the subscription URL, which anyone with console access or a
proxy log can read. So every SNS post is also proved by Amazon's own signature before anything is
recorded or confirmed:

- the signing certificate is fetched over HTTPS only, from a host matching one of
  NOTIFICATIONS_SNS_CERT_HOSTS (by default `sns.<region>.amazonaws.com` and `.amazonaws.com.cn`),
  with no redirects, at most CERT_MAX_BYTES, and kept in a small per-process cache;
- the signature covers the canonical string of the fields for the message's type, with SHA1
  (SignatureVersion 1) or SHA256 (SignatureVersion 2), RSA PKCS#1 v1.5, by `cryptography`;
- the Timestamp is at most NOTIFICATIONS_SNS_MAX_AGE seconds old (and not from the future);
- the TopicArn is one of NOTIFICATIONS_SNS_TOPIC_ARNS when that list is set.

Each MessageId is good once (tracking/services.py keeps it, as it keeps Mailgun's tokens); the view
checks that, since it is a write. See https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
"""

import base64
import binascii
import re
import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.utils.dateparse import parse_datetime

from ..conf import settings
from ..errors import NotificationsError

# The fields each type signs, in the order AWS puts them in the canonical string.
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
OPTIONAL_FIELDS = {"Subject"}  # signed only when the message has it
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
CERT_MAX_BYTES = 64 * 1024  # Amazon's certificates are about 2 KB
CERT_CACHE_SIZE = 32
CERT_TIMEOUT = (3.05, 5)  # connect, read (seconds)
FUTURE_SKEW = timedelta(minutes=5)  # a Timestamp this far ahead of our clock is still believed


class SNSVerificationFailed(NotificationsError):
    """An SNS post that is not proved to come from Amazon. `check` names the check that failed."""

    def __init__(self, check, detail):
        self.check = check
        super().__init__(f"SNS {check} check failed: {detail}")


class SNSCertificateUnavailable(NotificationsError):
    """The signing certificate could not be fetched: our side or Amazon's is down, so SNS should retry."""


_certs = OrderedDict()  # certificate URL -> public key, least recently used first
_certs_lock = threading.Lock()


def canonical_string(message):
    """The bytes Amazon signed: "Name\\nvalue\\n" for each signed field the message has."""
    fields = SIGNED_FIELDS[message["Type"]]
    parts = []
    for name in fields:
        if name in OPTIONAL_FIELDS and name not in message:
            continue
        parts.append(f"{name}\n{message[name]}\n")
    return "".join(parts).encode("utf-8")


def _require_fields(message):
    if not isinstance(message, dict):
        raise SNSVerificationFailed("format", "the body is not a JSON object")
    kind = message.get("Type")
    if kind not in SIGNED_FIELDS:
        raise SNSVerificationFailed("format", "unknown Type")
    needed = [name for name in SIGNED_FIELDS[kind] if name not in OPTIONAL_FIELDS]
    needed += ["Signature", "SignatureVersion", "SigningCertURL"]
    for name in needed:
        if not isinstance(message.get(name), str):
            raise SNSVerificationFailed("format", f"{name} is missing or not a string")
    if "Subject" in message and not isinstance(message["Subject"], str):
        raise SNSVerificationFailed("format", "Subject is not a string")


def topic_check(message):
    allowed = list(settings.NOTIFICATIONS_SNS_TOPIC_ARNS or ())
    if allowed and message["TopicArn"] not in allowed:
        raise SNSVerificationFailed("topic", "TopicArn is not in NOTIFICATIONS_SNS_TOPIC_ARNS")


def timestamp_check(message, *, now=None):
    now = now or datetime.now(UTC)
    try:
        signed_at = parse_datetime(message["Timestamp"])
    except ValueError:
        signed_at = None
    if signed_at is None or signed_at.tzinfo is None:
        raise SNSVerificationFailed("timestamp", "Timestamp is not an ISO 8601 time with a zone")
    if signed_at > now + FUTURE_SKEW:
        raise SNSVerificationFailed("timestamp", "Timestamp is in the future")
    if now - signed_at > timedelta(seconds=float(settings.NOTIFICATIONS_SNS_MAX_AGE)):
        raise SNSVerificationFailed("timestamp", "Timestamp is too old (a stale or replayed message)")
    return signed_at


def cert_url_check(url):
    """The certificate's URL must be HTTPS on an allowed host, with nothing that could redirect it."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError as error:
        raise SNSVerificationFailed("certificate URL", "SigningCertURL is not a URL") from error
    if parts.scheme != "https":
        raise SNSVerificationFailed("certificate URL", "SigningCertURL is not HTTPS")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise SNSVerificationFailed("certificate URL", "SigningCertURL has credentials, a query or a fragment")
    if not parts.path.endswith(".pem"):
        raise SNSVerificationFailed("certificate URL", "SigningCertURL is not a .pem file")
    patterns = settings.NOTIFICATIONS_SNS_CERT_HOSTS
    if not any(re.fullmatch(pattern, host, flags=re.IGNORECASE) for pattern in patterns):
        raise SNSVerificationFailed("certificate URL", f"{host!r} is not an allowed SNS certificate host")


def _fetch_pem(url):
    ca_file = settings.NOTIFICATIONS_SNS_CERT_CA_FILE
    try:
        fetch = requests.get(url, timeout=CERT_TIMEOUT, allow_redirects=False, stream=True, verify=ca_file or True)
        with fetch as reply:
            if reply.status_code != 200:
                raise SNSCertificateUnavailable(f"the certificate URL answered {reply.status_code}")
            body = reply.raw.read(CERT_MAX_BYTES + 1, decode_content=True)
    except requests.exceptions.SSLError as error:
        raise SNSVerificationFailed("certificate", "the certificate host's TLS certificate is not trusted") from error
    except requests.RequestException as error:
        raise SNSCertificateUnavailable(f"the certificate could not be fetched ({type(error).__name__})") from error
    if len(body) > CERT_MAX_BYTES:
        raise SNSVerificationFailed("certificate", "the certificate is too large")
    return body


def _public_key(url, *, now):
    with _certs_lock:
        cached = _certs.get(url)
        if cached is not None:
            _certs.move_to_end(url)
    if cached is None:
        try:
            cached = x509.load_pem_x509_certificate(_fetch_pem(url))
        except ValueError as error:
            raise SNSVerificationFailed("certificate", "the certificate is not a PEM X.509 certificate") from error
        with _certs_lock:
            _certs[url] = cached
            while len(_certs) > CERT_CACHE_SIZE:
                _certs.popitem(last=False)
    if not cached.not_valid_before_utc <= now <= cached.not_valid_after_utc:
        raise SNSVerificationFailed("certificate", "the certificate has expired or is not valid yet")
    key = cached.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SNSVerificationFailed("certificate", "the certificate's key is not RSA")
    return key


def signature_check(message, *, now=None):
    now = now or datetime.now(UTC)
    algorithm = HASHES.get(message["SignatureVersion"])
    if algorithm is None:
        raise SNSVerificationFailed("signature", "SignatureVersion is neither 1 nor 2")
    try:
        signature = base64.b64decode(message["Signature"], validate=True)
    except (binascii.Error, ValueError) as error:
        raise SNSVerificationFailed("signature", "Signature is not base64") from error
    cert_url_check(message["SigningCertURL"])
    key = _public_key(message["SigningCertURL"], now=now)
    try:
        key.verify(signature, canonical_string(message), padding.PKCS1v15(), algorithm())
    except InvalidSignature as error:
        raise SNSVerificationFailed("signature", "the signature does not match the message") from error


def sns_verify(message, *, now=None):
    """Raise SNSVerificationFailed unless `message` (a parsed SNS post) is signed by Amazon, recent,
    and from an allowed topic. Returns its Timestamp. Cheap checks first: the certificate is
    fetched only for a message that could otherwise be accepted."""
    now = now or datetime.now(UTC)
    _require_fields(message)
    topic_check(message)
    signed_at = timestamp_check(message, now=now)
    signature_check(message, now=now)
    return signed_at


def auto_confirm_allowed(message):
    """A SubscriptionConfirmation is confirmed only for a listed topic; with no list, by hand only."""
    return message["TopicArn"] in list(settings.NOTIFICATIONS_SNS_TOPIC_ARNS or ())


def cert_cache_clear():
    with _certs_lock:
        _certs.clear()
