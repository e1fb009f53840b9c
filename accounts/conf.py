"""Every setting the accounts app reads, with its default (allauth's `app_settings` pattern).

Modules import `settings` from here instead of `django.conf`: it is Django's settings object, with
the defaults below for whatever the project leaves unset. Values are read when used, so
`override_settings` works. A project sets only what it changes.
"""

from django.conf import settings as django_settings

DEFAULTS = {
    # Absolute base of the links in emails, e.g. "https://example.com" (no trailing slash).
    "SITE_URL": "http://localhost:8000",
    # Seconds an emailed confirmation link (sign-up, email change) works.
    "ACCOUNTS_CONFIRM_TIMEOUT": 3 * 24 * 3600,
    # Seconds the link sent to the old address after an email change can undo it (and force a
    # password reset).
    "ACCOUNTS_EMAIL_REVERT_TIMEOUT": 7 * 24 * 3600,
    # Emailed codes: digits, lifetime in seconds, and wrong tries per code.
    "ACCOUNTS_CODE_LENGTH": 6,
    "ACCOUNTS_CODE_TTL": 600,
    "ACCOUNTS_CODE_MAX_ATTEMPTS": 5,
    # Wrong codes per address per day before verifying by code is locked until the day is over.
    "ACCOUNTS_CODE_MAX_FAILURES": 20,
    # Days a code's audit row (EmailCaptcha) is kept.
    "ACCOUNTS_CODE_AUDIT_RETENTION_DAYS": 90,
    # Members kept in each hourly set of code-request counters (the busiest ones).
    "ACCOUNTS_CODE_ACTIVITY_MAX": 1000,
    # Rate limits per action, "<count>/<period>/<scope>,..." (see ratelimit.py).
    "ACCOUNTS_RATE_LIMITS": {
        "code_send": "1/m/key,5/h/key,20/h/ip",
        "code_verify": "10/m/key,100/h/ip",
        "confirm_resend": "1/m/key,5/h/key,20/h/ip",
        "confirm": "30/h/ip",
        "email_change": "10/h/key,30/h/ip",
        "password_reset": "1/m/key,5/h/key,20/h/ip",
        "login": "10/m/key,60/h/ip",
        "signup": "20/h/ip",
        "password_reset_code": "10/m/key,100/h/ip",
        "account_delete": "1/m/key,5/h/key",
        "account_delete_confirm": "10/h/key",
        # Second-factor codes (authenticator app or recovery code), counted per account only
        # after its password or emailed code was proven, and only when wrong (docs/second-factor.md).
        "mfa_verify": "5/m/key,30/h/key,100/h/ip",
        # Proofs for re-authentication ("sudo mode"): password, authenticator code, emailed code.
        "reauth": "10/m/key,60/h/ip",
        "passkey": "30/m/ip,300/h/ip",
    },
    # Off only for tests and load tests.
    "ACCOUNTS_RATE_LIMITS_ENABLED": True,
    # Requests that depend on whether an address has an account (sign-up, reset, resend, codes)
    # are recorded as rows and carried out by a worker, so every address gets the same response
    # time. The sweeper carries out those still waiting after this many seconds (their task was
    # never published, or never ran) ...
    "ACCOUNTS_INTENT_SWEEP_AFTER": 30,
    # ... and drops, with a warning, those older than this many seconds.
    "ACCOUNTS_INTENT_MAX_AGE": 24 * 3600,
    # The Celery queue of the task that carries a request out.
    "ACCOUNTS_INTENT_QUEUE": "email-urgent",
    # Carry each request out in the web process right after recording it (tests, or a project
    # without a worker). It gives back the timing difference the worker exists to hide.
    "ACCOUNTS_INTENTS_INLINE": False,
    # After sign-up, email a code to type in (in the same browser or app) instead of a link.
    "ACCOUNTS_EMAIL_VERIFICATION_BY_CODE": False,
    # A password reset emails a code to type in with the new password, instead of a link.
    "ACCOUNTS_PASSWORD_RESET_BY_CODE": False,
    # Links in emails point at a front end's own pages when set (allauth's HEADLESS_FRONTEND_URLS):
    # {"confirm": ".../verify/{key}", "password_reset": ".../reset/{key}",
    #  "email_change": ".../email/{key}", "email_revert": ".../email/revert/{key}"}. Unset names keep
    # this site's pages.
    "ACCOUNTS_FRONTEND_URLS": {},
    # Seconds an API app client's session token lives without being used.
    "ACCOUNTS_APP_TOKEN_IDLE_TIMEOUT": 14 * 24 * 3600,
    # Log the person in when they confirm their address from the browser that signed up (allauth's
    # ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION); a link opened elsewhere never logs anyone in.
    "ACCOUNTS_LOGIN_ON_EMAIL_CONFIRMATION": True,
    # Seconds between two writes of a session's "last seen" (accounts/flows/sessions.py).
    "ACCOUNTS_SESSION_TOUCH_INTERVAL": 60,
    # Second factor (accounts/flows/mfa.py). Seconds a log-in waits for its second factor ...
    "ACCOUNTS_MFA_LOGIN_TIMEOUT": 300,
    # ... seconds a proof of identity lets a person change their address, password or factors,
    # delete the account or end other sessions ("sudo mode") ...
    "ACCOUNTS_REAUTH_TIMEOUT": 300,
    # ... seconds "trust this browser" skips the second factor ...
    "ACCOUNTS_MFA_TRUST_AGE": 30 * 24 * 3600,
    # ... the issuer an authenticator app shows next to the account ...
    "ACCOUNTS_MFA_TOTP_ISSUER": "mailsite",
    # ... how many recovery codes a set has, and at how many left the owner is warned ...
    "ACCOUNTS_MFA_RECOVERY_CODE_COUNT": 10,
    "ACCOUNTS_MFA_RECOVERY_CODES_LOW": 2,
    # ... and whether staff must have a second factor to use /admin/.
    "ACCOUNTS_MFA_REQUIRED_FOR_STAFF": False,
    # Passkeys (accounts/flows/passkeys.py): seconds a WebAuthn challenge may be answered in, and
    # the name browsers show for this site (empty: SITE_URL's host). The RP ID and the origin are
    # SITE_URL's, never the request's Host.
    "ACCOUNTS_PASSKEY_CHALLENGE_TIMEOUT": 300,
    "ACCOUNTS_PASSKEY_RP_NAME": "",
    # Networks of reverse proxies whose X-Forwarded-For is believed (e.g. ["10.0.0.0/8"]).
    "ACCOUNTS_TRUSTED_PROXIES": [],
    # Per-IP limits key an IPv6 client by its network of this many leading bits (a home line or a
    # cloud VM holds a whole /64); an IPv4 client, and an IPv4-mapped IPv6 one, by its address.
    "ACCOUNTS_IPV6_PREFIX": 64,
    # Accept addresses such as carol@[192.0.2.1]: their mail goes straight to that IP, with no DNS
    # name, MX or domain reputation behind it (so to any host, private ones too). Off unless needed.
    "ACCOUNTS_ALLOW_ADDRESS_LITERALS_WITHOUT_DNS": False,
}


class AppSettings:
    """django.conf.settings, falling back to DEFAULTS."""

    def __init__(self, defaults):
        self._defaults = defaults

    def __getattr__(self, name):
        try:
            return getattr(django_settings, name)
        except AttributeError:
            if name not in self._defaults:
                raise
        return self._defaults[name]


settings = AppSettings(DEFAULTS)
