"""Every setting the notifications app reads, with its default (allauth's `app_settings` pattern).

Modules import `settings` from here instead of `django.conf`: it is Django's settings object, with
the defaults below for whatever the project leaves unset. Values are read when used, so
`override_settings` works. A project sets only what it changes.
"""

from django.conf import settings as django_settings


def _send_lease(s):
    return 4 * int(s.NOTIFICATIONS_EMAIL_TIMEOUT) + 30


def _rate_burst(s):
    return max(1, round(float(s.NOTIFICATIONS_MAX_RATE)))


def _keep_sensitive(s):
    return bool(s.DEBUG)


DEFAULTS = {
    # Absolute base of the links in emails, e.g. "https://example.com" (no trailing slash).
    "SITE_URL": "http://localhost:8000",
    # MAILERS aliases of the real providers, in failover order (the outbox sends through these).
    "NOTIFICATIONS_TRANSPORTS": ["transport"],
    # Seconds for SMTP and the providers' HTTP APIs (used by the default send lease).
    "NOTIFICATIONS_EMAIL_TIMEOUT": 20,
    # Attempts at one message before it is FAILED.
    "NOTIFICATIONS_MAX_ATTEMPTS": 8,
    # Retry back-off: the first wait and the longest, in seconds.
    "NOTIFICATIONS_RETRY_BASE": 10.0,
    "NOTIFICATIONS_RETRY_MAX": 3600.0,
    # Seconds a worker may hold a row while sending it (a lease; after it another worker may).
    "NOTIFICATIONS_SEND_LEASE": _send_lease,
    # Rows one delivery task claims at once.
    "NOTIFICATIONS_CHUNK_SIZE": 50,
    # Seconds a delivery task keeps claiming due rows before it rings for a successor.
    "NOTIFICATIONS_DRAIN_BUDGET": 10.0,
    # Seconds a doorbell ring blocks the next one, in case its task is lost (the sweeper is the backstop).
    "NOTIFICATIONS_DOORBELL_TTL": 5.0,
    # Tasks one ring publishes when a drain finds a full chunk, so idle threads join in a hop or two.
    "NOTIFICATIONS_DRAIN_FAN_OUT": 4,
    # The duplicate window: outcomes are written at most this many messages, or seconds, late.
    "NOTIFICATIONS_OUTCOME_GROUP": 10,
    "NOTIFICATIONS_OUTCOME_MAX_AGE": 0.2,
    # Keep codes and links readable in the stored copy (the dev mailbox); on only with DEBUG.
    "NOTIFICATIONS_KEEP_SENSITIVE": _keep_sensitive,
    # One send rate for all workers: messages a second (0 = unlimited) and the bucket's size.
    "NOTIFICATIONS_MAX_RATE": 0.0,
    "NOTIFICATIONS_RATE_BURST": _rate_burst,
    # Seconds a worker waits for a token before putting the task back with a countdown.
    "NOTIFICATIONS_RATE_MAX_WAIT": 5.0,
    # Tokens bulk mail leaves in the bucket for urgent mail.
    "NOTIFICATIONS_URGENT_RESERVE": 1,
    # After a provider's "too fast", the rate is multiplied by SLOWDOWN for COOLDOWN seconds.
    "NOTIFICATIONS_THROTTLE_SLOWDOWN": 0.5,
    "NOTIFICATIONS_THROTTLE_COOLDOWN": 60,
    # Redis for the shared send rate; None uses the default cache's connection when it is
    # django-redis, and without either the rate is kept per process.
    "NOTIFICATIONS_REDIS_URL": None,
    # Transient failures on one provider before trying the next.
    "NOTIFICATIONS_FAILOVER_AFTER": 3,
    # This many soft-bounced messages to an address within PERIOD seconds suppress it.
    "NOTIFICATIONS_SOFT_BOUNCE_LIMIT": 3,
    "NOTIFICATIONS_SOFT_BOUNCE_PERIOD": 7 * 24 * 3600,
    # Where a user whose address bounces can change it (a URL or URL name); None shows no link.
    "NOTIFICATIONS_EMAIL_CHANGE_URL": None,
    # Dotted path of `user_info(user) -> UserInfo` (confirmed address, language); see users.py.
    "NOTIFICATIONS_USER_INFO": "notifications.users.user_info_default",
    # Dotted path of `users_confirmed(queryset) -> queryset`: the users user_info calls confirmed,
    # as a query, for the people lists (see users.py).
    "NOTIFICATIONS_USERS_CONFIRMED": "notifications.users.users_confirmed_default",
    # Follower alerts: one alert per recipient per window (seconds); a pair is not alerted again
    # within REALERT_AFTER; a digest names this many followers; the sweeper acts after SWEEP_AFTER.
    "NOTIFICATIONS_FOLLOW_WINDOW": 15 * 60,
    "NOTIFICATIONS_FOLLOW_REALERT_AFTER": 24 * 3600,
    "NOTIFICATIONS_FOLLOW_DIGEST_NAMES": 3,
    "NOTIFICATIONS_FOLLOW_SWEEP_AFTER": 60,
    # Follows and unfollows one person may make, on the pages and the API together (follows/limits.py):
    # "<count>/<period>" rules joined by commas, period s|m|h|d or seconds; "" turns the limit off.
    "NOTIFICATIONS_FOLLOW_RATE_LIMIT": "30/m,300/h",
    # Alerts (alerts.py): seconds the oldest queued row may wait; bounced / sent over the last
    # hour; and the fewest sent in that hour for a bounce-rate verdict.
    "NOTIFICATIONS_ALERT_QUEUE_AGE": 900,
    "NOTIFICATIONS_ALERT_BOUNCE_RATE": 0.05,
    "NOTIFICATIONS_ALERT_MIN_SENT": 20,
    # Retention (retention.py), in days: a finished row's content, tracking events, finished rows;
    # purged in batches of RETENTION_BATCH rows, at most RETENTION_MAX_BATCHES per scheduled run.
    "NOTIFICATIONS_CONTENT_RETENTION_DAYS": 30,
    "NOTIFICATIONS_EVENT_RETENTION_DAYS": 90,
    "NOTIFICATIONS_OUTBOX_RETENTION_DAYS": 365,
    "NOTIFICATIONS_RETENTION_BATCH": 1000,
    "NOTIFICATIONS_RETENTION_MAX_BATCHES": 50,
    # The dashboard's hourly sums (ops/rollup.py): an hour is summed once it has been over for
    # ROLLUP_GRACE seconds (outcomes are written in groups, a little after the send).
    "NOTIFICATIONS_ROLLUP_GRACE": 120,
    # Amazon SNS (SES tracking) posts are believed only when Amazon signed them (tracking/sns.py).
    # Topics whose messages are accepted, and whose subscriptions are confirmed automatically;
    # empty: messages from any topic, and subscriptions are confirmed by hand only.
    "NOTIFICATIONS_SNS_TOPIC_ARNS": [],
    # Hosts (full-match regular expressions) the signing certificate may be fetched from, over HTTPS.
    "NOTIFICATIONS_SNS_CERT_HOSTS": [r"sns\.[a-z0-9-]+\.amazonaws\.com", r"sns\.[a-z0-9-]+\.amazonaws\.com\.cn"],
    # A CA bundle to trust for that HTTPS fetch; None trusts the usual ones (requests' certifi).
    "NOTIFICATIONS_SNS_CERT_CA_FILE": None,
    # Seconds an SNS message is accepted after its Timestamp; each MessageId is good once.
    "NOTIFICATIONS_SNS_MAX_AGE": 3600,
    # The dev mailbox's live updates (dev/stream.py): one Server-Sent Events stream lasts at most
    # STREAM_SECONDS (the browser then reconnects), says it is alive every HEARTBEAT seconds, and
    # looks for a change every STREAM_INTERVAL seconds.
    "NOTIFICATIONS_MAILBOX_STREAM_SECONDS": 25.0,
    "NOTIFICATIONS_MAILBOX_HEARTBEAT": 10.0,
    "NOTIFICATIONS_MAILBOX_STREAM_INTERVAL": 0.5,
    # Releasing one mail from the dev mailbox to a real server (dev/release.py): the server, as
    # "smtp://[user:password@]host:port" ("smtp+starttls://" or "smtps://" for TLS); and the
    # recipients it may go to: addresses ("ada@example.com") or whole domains ("@example.com").
    # Empty: release is off.
    "NOTIFICATIONS_MAILBOX_RELEASE_SMTP": "",
    "NOTIFICATIONS_MAILBOX_RELEASE_ALLOW": [],
    # The per-mailbox ceiling (outbox/ceiling.py): unsolicited mail (confirmation, reset, codes,
    # sign-up notices) one recipient may get an hour and a day, whatever spelling asked; past it,
    # such mail is not sent and its row says why. 0 turns a limit off.
    "NOTIFICATIONS_UNSOLICITED_PER_HOUR": 10,
    "NOTIFICATIONS_UNSOLICITED_PER_DAY": 30,
    # Seconds an idempotency key is kept: the same key again within them sends nothing more.
    "NOTIFICATIONS_IDEMPOTENCY_WINDOW": 24 * 3600,
    # Anymail's settings; the tracking webhooks read WEBHOOK_SECRET from it.
    "ANYMAIL": {},
}


class AppSettings:
    """django.conf.settings, falling back to DEFAULTS (a callable default gets this object)."""

    def __init__(self, defaults):
        self._defaults = defaults

    def __getattr__(self, name):
        try:
            return getattr(django_settings, name)
        except AttributeError:
            if name not in self._defaults:
                raise
        default = self._defaults[name]
        return default(self) if callable(default) else default


settings = AppSettings(DEFAULTS)
