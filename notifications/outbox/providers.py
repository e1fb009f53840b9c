"""What a provider's error means for the outbox: throttled, down, or (for SES) a permanent refusal.

Each transport speaks its own language: SMTP reply codes, Anymail's HTTP errors (whose cause is
the `requests` exception), and for Amazon SES an Anymail error whose cause is botocore's
ClientError carrying an error code. These predicates read all three, so delivery, the rate limiter
and failover agree on what happened.
"""

import re
import smtplib

import requests
from anymail.exceptions import AnymailError

try:
    from botocore.exceptions import ConnectionError as BotoConnectionError
except ImportError:  # the amazon-ses extra is not installed

    class BotoConnectionError(Exception):
        pass


UNREACHABLE = (ConnectionError, TimeoutError, requests.ConnectionError, requests.Timeout, BotoConnectionError)

THROTTLE_TEXT = re.compile(r"throttl|rate limit|too many|too fast|slow down|try again later|exceeded", re.I)

# Amazon SES (v1 and v2 API) error codes.
SES_THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException"}
SES_DOWN = {
    "AccountSuspendedException",
    "SendingPausedException",
    "MailFromDomainNotVerifiedException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalServiceError",
}


def _causes(error):
    """The error and the chain of exceptions it was raised from."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def ses_error(error):
    """(code, http status) of a botocore ClientError behind `error`, or (None, None)."""
    for cause in _causes(error):
        response = getattr(cause, "response", None)
        if isinstance(response, dict) and "Error" in response:
            code = response["Error"].get("Code")
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return code, status
    return None, None


def _http_status(error):
    if isinstance(error, AnymailError):
        return getattr(error, "status_code", None)
    return None


def is_throttled(error):
    """The provider asked us to send more slowly (HTTP 429, SES Throttling, SMTP 421/451/452 with
    throttling words). Always transient."""
    if _http_status(error) == 429:
        return True
    code, status = ses_error(error)
    if code in SES_THROTTLED or status == 429:
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = list(error.recipients.values())
        return bool(replies) and all(_smtp_throttled(code, text) for code, text in replies)
    if isinstance(error, smtplib.SMTPResponseException):
        return _smtp_throttled(error.smtp_code, error.smtp_error)
    return False


def _smtp_throttled(code, text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return code in (421, 450, 451, 452, 454) and bool(THROTTLE_TEXT.search(str(text)))


def is_down(error):
    """The provider cannot take mail from us now (unreachable, 5xx HTTP, paused account): a reason
    to go to the next provider at once rather than wait."""
    status = _http_status(error)
    if status is not None and status >= 500:
        return True
    code, ses_status = ses_error(error)
    if code in SES_DOWN or (ses_status is not None and ses_status >= 500):
        return True
    if isinstance(error, smtplib.SMTPConnectError):
        return True
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code == 421 and not is_throttled(error)
    return any(isinstance(cause, UNREACHABLE) for cause in _causes(error))


def ses_is_permanent(error):
    """An SES refusal that retrying cannot fix (4xx other than throttling or a paused account)."""
    code, status = ses_error(error)
    if code is None or code in SES_THROTTLED or code in SES_DOWN:
        return False
    return status is not None and 400 <= status < 500
