"""
mailsite settings: one module, read from the environment (and an optional `.env` file).

This is the only module that reads the environment. Everything else reads `django.conf.settings`
when it runs, so tests can override any of it. A bad or missing value stops start-up with an
ImproperlyConfigured error that names the variable.
"""

import ipaddress
import secrets
import warnings
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")


def _env_bool(name, default):
    # Stricter than env.bool, which reads any unknown word (a typo such as DEBUG=ture) as false.
    raw = env.str(name, default="").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on", "y", "t"):
        return True
    if raw in ("0", "false", "no", "off", "n", "f"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off), not {raw!r}.")


def _env_int(name, default, minimum=0):
    try:
        value = env.int(name, default=default)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}.")
    return value


def _env_float(name, default, minimum=0.0):
    try:
        value = env.float(name, default=default)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}.")
    return value


# ------------------------------------------------------------------------------------------------
# Core
# ------------------------------------------------------------------------------------------------
DEBUG = _env_bool("DEBUG", False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is not set (it is required when DEBUG is off).")
    # Development only: a random key kept under var/ so sessions survive a restart.
    _dev_key = VAR_DIR / "dev-secret-key"
    if not _dev_key.exists():
        VAR_DIR.mkdir(exist_ok=True)
        _dev_key.write_text(secrets.token_urlsafe(50))
    SECRET_KEY = _dev_key.read_text().strip()
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
if not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("SITE_URL must be an absolute http:// or https:// URL.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_results",
    "anymail",
    "mailsite",
    "accounts",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "mailsite.middleware.RejectNullCharactersMiddleware",
    # Serves collected static files under gunicorn (docker-compose); runserver serves them in DEBUG.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mailsite.urls"
WSGI_APPLICATION = "mailsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# ------------------------------------------------------------------------------------------------
# Database
# ------------------------------------------------------------------------------------------------
_default_db = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
try:
    with warnings.catch_warnings():  # an unknown scheme is reported below, in one line
        warnings.simplefilter("ignore")
        DATABASES = {"default": env.db_url_config(env.str("DATABASE_URL", default="") or _default_db)}
except Exception as error:  # django-environ raises assorted errors for a bad URL
    raise ImproperlyConfigured(f"DATABASE_URL is not a usable database URL ({error}).") from None
if not DATABASES["default"].get("ENGINE"):
    raise ImproperlyConfigured(
        "DATABASE_URL has an unknown scheme (use e.g. postgres://user:pass@host:5432/name or sqlite:////path)."
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    # WAL and IMMEDIATE transactions let the web process, the worker and beat share one file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE", "timeout": 20}
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ------------------------------------------------------------------------------------------------
# Cache (rate limits and verification codes live here)
# ------------------------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured("REDIS_URL must start with redis://, rediss:// or unix://.")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 5, "SOCKET_TIMEOUT": 5},
            "KEY_PREFIX": "mailsite",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "KEY_PREFIX": "mailsite",
        }
    }

# ------------------------------------------------------------------------------------------------
# Auth
# ------------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.EmailOrUsernameBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = _env_int("PASSWORD_RESET_TIMEOUT", 3600, minimum=60)
# How long an emailed confirmation link (sign-up, email change) works, in seconds.
ACCOUNTS_CONFIRM_TIMEOUT = _env_int("ACCOUNTS_CONFIRM_TIMEOUT", 3 * 24 * 3600, minimum=60)

# Emailed verification codes (accounts/codes.py): digits, lifetime in seconds, wrong tries per code,
# and wrong codes per address per day before verifying by code is locked until the day is over.
ACCOUNTS_CODE_LENGTH = _env_int("ACCOUNTS_CODE_LENGTH", 6, minimum=4)
ACCOUNTS_CODE_TTL = _env_int("ACCOUNTS_CODE_TTL", 600, minimum=60)
ACCOUNTS_CODE_MAX_ATTEMPTS = _env_int("ACCOUNTS_CODE_MAX_ATTEMPTS", 5, minimum=1)
ACCOUNTS_CODE_MAX_FAILURES = _env_int("ACCOUNTS_CODE_MAX_FAILURES", 20, minimum=1)

# Rate limits: <count>/<period>/<scope>, see accounts/ratelimit.py. One helper serves them all.
ACCOUNTS_RATE_LIMITS = {
    "code_send": "1/m/key,5/h/key,20/h/ip",
    "code_verify": "10/m/key,100/h/ip",
    "confirm_resend": "1/m/key,5/h/key,20/h/ip",
    "confirm": "30/h/ip",
    "password_reset": "1/m/key,5/h/key,20/h/ip",
    "login": "10/m/key,60/h/ip",
    "signup": "20/h/ip",
}
ACCOUNTS_RATE_LIMITS_ENABLED = _env_bool("ACCOUNTS_RATE_LIMITS_ENABLED", True)
# Networks of reverse proxies whose X-Forwarded-For we believe (e.g. "10.0.0.0/8,127.0.0.1/32").
try:
    ACCOUNTS_TRUSTED_PROXIES = [
        str(ipaddress.ip_network(n, strict=False)) for n in env.list("TRUSTED_PROXIES", default=[])
    ]
except ValueError as _error:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES must be a list of IP networks ({_error}).") from None

# ------------------------------------------------------------------------------------------------
# Internationalisation
# ------------------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]

# ------------------------------------------------------------------------------------------------
# Security (production values whenever DEBUG is off)
# ------------------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", SITE_URL.startswith("https://"))
    SESSION_COOKIE_SECURE = SITE_URL.startswith("https://")
    CSRF_COOKIE_SECURE = SITE_URL.startswith("https://")
    SECURE_HSTS_SECONDS = _env_int("SECURE_HSTS_SECONDS", 0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
    SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    if _env_bool("SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# ------------------------------------------------------------------------------------------------
# Email: MAILERS["default"] is the outbox; MAILERS["transport"] is the real provider.
# ------------------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="mailsite <noreply@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
ADMINS = [("Admin", addr) for addr in env.list("ADMINS", default=[])]
NOTIFICATIONS_EMAIL_TIMEOUT = _env_int("EMAIL_TIMEOUT", 20, minimum=1)

EMAIL_PROVIDERS = ("console", "smtp", "ses", "mailgun")
EMAIL_PROVIDER = env.list("EMAIL_PROVIDER", default=["console"])
for _name in EMAIL_PROVIDER:
    if _name not in EMAIL_PROVIDERS:
        raise ImproperlyConfigured(f"EMAIL_PROVIDER={_name!r} is not one of: {', '.join(EMAIL_PROVIDERS)}.")
if not EMAIL_PROVIDER or len(set(EMAIL_PROVIDER)) != len(EMAIL_PROVIDER):
    raise ImproperlyConfigured("EMAIL_PROVIDER must name one or more distinct providers.")


def _require(provider, *names):
    missing = [name for name in names if not env.str(name, default="")]
    if missing:
        raise ImproperlyConfigured(f"EMAIL_PROVIDER={provider} needs {', '.join(missing)} to be set.")


ANYMAIL = {
    "WEBHOOK_SECRET": env.str("ANYMAIL_WEBHOOK_SECRET", default="") or None,
    "MAILGUN_WEBHOOK_SIGNING_KEY": env.str("MAILGUN_WEBHOOK_SIGNING_KEY", default="") or None,
    "REQUESTS_TIMEOUT": NOTIFICATIONS_EMAIL_TIMEOUT,
}
ANYMAIL = {key: value for key, value in ANYMAIL.items() if value is not None}
# Without a signing key Anymail's Mailgun webhook would answer 500; with a key nobody knows, every
# post to it fails the signature check (400) until MAILGUN_WEBHOOK_SIGNING_KEY is set.
ANYMAIL.setdefault("MAILGUN_WEBHOOK_SIGNING_KEY", secrets.token_hex(32))


def _transport(provider):
    if provider == "console":
        return {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if provider == "smtp":
        _require("smtp", "EMAIL_URL")
        try:
            parsed = env.email_url("EMAIL_URL")
        except Exception as error:
            raise ImproperlyConfigured(f"EMAIL_URL is not a usable SMTP URL ({error}).") from None
        if not parsed.get("EMAIL_HOST"):
            raise ImproperlyConfigured("EMAIL_URL names no host (e.g. smtp+tls://user:pass@host:587).")
        return {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": parsed["EMAIL_HOST"],
                "port": parsed.get("EMAIL_PORT") or 25,
                "username": parsed.get("EMAIL_HOST_USER") or None,
                "password": parsed.get("EMAIL_HOST_PASSWORD") or None,
                "use_tls": bool(parsed.get("EMAIL_USE_TLS")),
                "use_ssl": bool(parsed.get("EMAIL_USE_SSL")),
                "timeout": NOTIFICATIONS_EMAIL_TIMEOUT,
            },
        }
    if provider == "ses":
        _require("ses", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
        from botocore.config import Config

        client_params = {
            "region_name": env.str("AWS_DEFAULT_REGION"),
            "config": Config(
                connect_timeout=NOTIFICATIONS_EMAIL_TIMEOUT,
                read_timeout=NOTIFICATIONS_EMAIL_TIMEOUT,
                retries={"max_attempts": 1},
            ),
        }
        if env.str("AMAZON_SES_ENDPOINT_URL", default=""):
            client_params["endpoint_url"] = env.str("AMAZON_SES_ENDPOINT_URL")
        ANYMAIL["AMAZON_SES_CLIENT_PARAMS"] = client_params
        if env.str("AMAZON_SES_CONFIGURATION_SET_NAME", default=""):
            ANYMAIL["AMAZON_SES_CONFIGURATION_SET_NAME"] = env.str("AMAZON_SES_CONFIGURATION_SET_NAME")
        return {"BACKEND": "anymail.backends.amazon_ses.EmailBackend"}
    # mailgun
    _require("mailgun", "MAILGUN_API_KEY", "MAILGUN_SENDER_DOMAIN")
    ANYMAIL["MAILGUN_API_KEY"] = env.str("MAILGUN_API_KEY")
    ANYMAIL["MAILGUN_SENDER_DOMAIN"] = env.str("MAILGUN_SENDER_DOMAIN")
    if env.str("MAILGUN_API_URL", default=""):
        ANYMAIL["MAILGUN_API_URL"] = env.str("MAILGUN_API_URL")
    return {"BACKEND": "anymail.backends.mailgun.EmailBackend"}


MAILERS = {"default": {"BACKEND": "notifications.backends.OutboxBackend"}}
for _name in EMAIL_PROVIDER:
    MAILERS[f"transport-{_name}"] = _transport(_name)
# "transport" is the first provider; the rest (if any) are failover, in order.
MAILERS["transport"] = MAILERS[f"transport-{EMAIL_PROVIDER[0]}"]
NOTIFICATIONS_TRANSPORTS = [f"transport-{name}" for name in EMAIL_PROVIDER]

# Outbox behaviour.
NOTIFICATIONS_MAX_ATTEMPTS = _env_int("NOTIFICATIONS_MAX_ATTEMPTS", 8, minimum=1)
NOTIFICATIONS_RETRY_BASE = _env_float("NOTIFICATIONS_RETRY_BASE", 10.0)  # seconds
NOTIFICATIONS_RETRY_MAX = _env_float("NOTIFICATIONS_RETRY_MAX", 3600.0)  # seconds
NOTIFICATIONS_SEND_LEASE = _env_int("NOTIFICATIONS_SEND_LEASE", 4 * NOTIFICATIONS_EMAIL_TIMEOUT + 30, minimum=1)
NOTIFICATIONS_CHUNK_SIZE = _env_int("NOTIFICATIONS_CHUNK_SIZE", 50, minimum=1)  # rows a delivery task claims at once
NOTIFICATIONS_DRAIN_BUDGET = _env_float("NOTIFICATIONS_DRAIN_BUDGET", 10.0)  # seconds a task sends, then a successor
NOTIFICATIONS_DOORBELL_TTL = 5.0  # seconds a ring blocks the next one if its task is lost
# The duplicate window: outcomes are written at most this many messages, or this many seconds, late.
NOTIFICATIONS_OUTCOME_GROUP = _env_int("NOTIFICATIONS_OUTCOME_GROUP", 10, minimum=1)
NOTIFICATIONS_OUTCOME_MAX_AGE = 0.2
NOTIFICATIONS_KEEP_SENSITIVE = DEBUG  # keep codes and links readable in the dev mailbox

# One send rate for all workers on all machines (a token bucket in Redis, notifications/throttle.py):
# the provider's quota in messages per second (0 = unlimited) and how many may go at once.
NOTIFICATIONS_MAX_RATE = _env_float("EMAIL_MAX_RATE", 0.0)
NOTIFICATIONS_RATE_BURST = _env_int("EMAIL_MAX_BURST", max(1, round(NOTIFICATIONS_MAX_RATE)), minimum=1)
# Seconds a worker waits for a token before it puts the task back in the queue with a countdown.
NOTIFICATIONS_RATE_MAX_WAIT = _env_float("NOTIFICATIONS_RATE_MAX_WAIT", 5.0)
NOTIFICATIONS_URGENT_RESERVE = 1  # tokens bulk mail leaves in the bucket for urgent mail
NOTIFICATIONS_THROTTLE_SLOWDOWN = 0.5  # after a provider's "too fast", the rate is multiplied by this...
NOTIFICATIONS_THROTTLE_COOLDOWN = 60  # ...for this many seconds
# Failover (EMAIL_PROVIDER=ses,mailgun): transient failures on one provider before trying the next.
NOTIFICATIONS_FAILOVER_AFTER = _env_int("NOTIFICATIONS_FAILOVER_AFTER", 3, minimum=1)
# Suppression: this many soft-bounced messages to an address within the period suppress it.
NOTIFICATIONS_SOFT_BOUNCE_LIMIT = _env_int("NOTIFICATIONS_SOFT_BOUNCE_LIMIT", 3, minimum=1)
NOTIFICATIONS_SOFT_BOUNCE_PERIOD = _env_int("NOTIFICATIONS_SOFT_BOUNCE_PERIOD", 7 * 24 * 3600, minimum=60)
# Where a user whose address bounces is sent to fix it (the banner shown at log-in).
NOTIFICATIONS_EMAIL_CHANGE_URL = "/accounts/email/change/"

# Follower alerts (notifications/follows.py): at most one alert per recipient per window; follows
# inside it go into one digest when it closes. A pair is not alerted twice within REALERT_AFTER.
NOTIFICATIONS_FOLLOW_WINDOW = _env_int("NOTIFICATIONS_FOLLOW_WINDOW", 15 * 60, minimum=1)  # seconds
NOTIFICATIONS_FOLLOW_REALERT_AFTER = 24 * 3600  # seconds
NOTIFICATIONS_FOLLOW_DIGEST_NAMES = 3  # followers named in a digest before "and N others"
NOTIFICATIONS_FOLLOW_SWEEP_AFTER = 60  # seconds a pending follow may wait unscheduled before the sweeper acts

# ------------------------------------------------------------------------------------------------
# Celery
# ------------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
else:
    # Longer than the longest retry countdown, so a delayed task is never redelivered early.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(NOTIFICATIONS_RETRY_MAX * 2 + 3600),
        "socket_connect_timeout": 5,
        "socket_timeout": 10,
        # A worker consuming several queues always takes from the first non-empty one in
        # CELERY_TASK_QUEUES order (not round robin): with one worker for everything, a code then
        # waits for at most the bulk chunk being sent, not a bulk chunk per code queued before it.
        "queue_order_strategy": "priority",
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_RESULT_EXPIRES = 7 * 24 * 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection around every task unless this is set; the
# worker keeps it instead (mailsite/celery.py closes it when broken or older than CONN_MAX_AGE).
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_TASK_DEFAULT_QUEUE = "default"
# A plain worker consumes all of these, so a newcomer's single worker delivers everything.
CELERY_TASK_QUEUES = [Queue("email-urgent"), Queue("default"), Queue("email-bulk")]  # in priority order
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_REDIRECT_STDOUTS_LEVEL = "INFO"
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "notifications.tasks.outbox_sweep", "schedule": 60.0},
    "follower-alerts-sweep": {"task": "notifications.tasks.follower_alerts_sweep", "schedule": 60.0},
    "follower-alert-items-prune": {"task": "notifications.tasks.follower_alert_items_prune", "schedule": 3600.0},
}
CELERY_TIMEZONE = TIME_ZONE

# ------------------------------------------------------------------------------------------------
# Logging
# ------------------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
