"""
mailsite settings: one module, read from the environment (and an optional `.env` file).

This is the only module that reads the environment, and it writes nothing at import. It sets what
the deployment changes; every app setting left out here has its default in the app's `conf.py`
(accounts/conf.py, notifications/conf.py). An app setting and its environment variable have one
name. A bad value stops start-up with an ImproperlyConfigured error that names the variable.
"""

import ipaddress
import logging
import os
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


def _env_networks(name, default):
    try:
        return [str(ipaddress.ip_network(n, strict=False)) for n in env.list(name, default=default)]
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} must be a list of IP networks ({error}).") from None


def _from_env(name, parse, *args, old=None):
    """Set the app setting `name` from the variable of the same name (or its older name `old`)
    when the environment has it; otherwise the app's default (its conf.py) applies."""
    for variable in (name, old):
        if variable and env.str(variable, default=""):
            globals()[name] = parse(variable, None, *args)
            return


# ------------------------------------------------------------------------------------------------
# Core
# ------------------------------------------------------------------------------------------------
DEBUG = _env_bool("DEBUG", False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is not set (it is required when DEBUG is off).")
    # Development only (`make run` writes one into .env): a key for this process and the ones it
    # starts (manage.py rundev's children).
    SECRET_KEY = secrets.token_urlsafe(50)
    os.environ["SECRET_KEY"] = SECRET_KEY
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
    "ninja",  # the API's documentation page, with its assets from our static files (no CDN)
    "mailsite",
    "accounts",
    "notifications",
]

MIDDLEWARE = [
    "mailsite.health.HealthMiddleware",  # /healthz and /readyz, before host checks and redirects
    "mailsite.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "mailsite.middleware.RejectNullCharactersMiddleware",
    # Serves collected static files under gunicorn (docker-compose); runserver serves them in DEBUG.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserSessionMiddleware",  # after it: ends sessions ended elsewhere
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so its process_exception sees a view's errors first: Redis down is a 503, not a 500.
    "mailsite.middleware.ServiceUnavailableMiddleware",
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
    # The same SQLite backend, creating the file's folder (var/) when it first connects.
    DATABASES["default"]["ENGINE"] = "mailsite.sqlite3"
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
_from_env("ACCOUNTS_CONFIRM_TIMEOUT", _env_int, 60)
_from_env("ACCOUNTS_EMAIL_REVERT_TIMEOUT", _env_int, 60)
_from_env("ACCOUNTS_CODE_LENGTH", _env_int, 4)
_from_env("ACCOUNTS_CODE_TTL", _env_int, 60)
_from_env("ACCOUNTS_CODE_MAX_ATTEMPTS", _env_int, 1)
_from_env("ACCOUNTS_CODE_MAX_FAILURES", _env_int, 1)
_from_env("ACCOUNTS_RATE_LIMITS_ENABLED", _env_bool)
_from_env("ACCOUNTS_INTENT_SWEEP_AFTER", _env_int, 0)
_from_env("ACCOUNTS_EMAIL_VERIFICATION_BY_CODE", _env_bool)
_from_env("ACCOUNTS_PASSWORD_RESET_BY_CODE", _env_bool)
_from_env("ACCOUNTS_APP_TOKEN_IDLE_TIMEOUT", _env_int, 60)
_from_env("ACCOUNTS_TRUSTED_PROXIES", _env_networks, old="TRUSTED_PROXIES")

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
ADMINS = env.list("ADMINS", default=[])  # addresses (Django 6 deprecates (name, address) pairs)
NOTIFICATIONS_EMAIL_TIMEOUT = 20
_from_env("NOTIFICATIONS_EMAIL_TIMEOUT", _env_int, 1, old="EMAIL_TIMEOUT")

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
# SES tracking: the SNS topics whose (signed) messages are accepted and auto-confirmed; empty
# accepts any signed topic and leaves confirmation to be done by hand (docs/sns-verification.md).
NOTIFICATIONS_SNS_TOPIC_ARNS = env.list("NOTIFICATIONS_SNS_TOPIC_ARNS", default=[])


def _transport(provider):
    if provider == "console":
        # In development one line per email, with its link in the dev mailbox; else the raw MIME.
        if DEBUG:
            return {"BACKEND": "notifications.dev.console.EmailBackend"}
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

# Where a user whose address bounces is sent to fix it (the banner shown at log-in).
NOTIFICATIONS_EMAIL_CHANGE_URL = "accounts:email-change"

# Outbox behaviour, rate, failover, suppression and follower alerts (notifications/conf.py).
_from_env("NOTIFICATIONS_MAX_ATTEMPTS", _env_int, 1)
_from_env("NOTIFICATIONS_RETRY_BASE", _env_float)
_from_env("NOTIFICATIONS_RETRY_MAX", _env_float)
_from_env("NOTIFICATIONS_SEND_LEASE", _env_int, 1)
_from_env("NOTIFICATIONS_CHUNK_SIZE", _env_int, 1)
_from_env("NOTIFICATIONS_DRAIN_BUDGET", _env_float)
_from_env("NOTIFICATIONS_OUTCOME_GROUP", _env_int, 1)
_from_env("NOTIFICATIONS_MAX_RATE", _env_float, old="EMAIL_MAX_RATE")
_from_env("NOTIFICATIONS_RATE_BURST", _env_int, 1, old="EMAIL_MAX_BURST")
_from_env("NOTIFICATIONS_RATE_MAX_WAIT", _env_float)
_from_env("NOTIFICATIONS_FAILOVER_AFTER", _env_int, 1)
_from_env("NOTIFICATIONS_SOFT_BOUNCE_LIMIT", _env_int, 1)
_from_env("NOTIFICATIONS_SOFT_BOUNCE_PERIOD", _env_int, 60)
_from_env("NOTIFICATIONS_FOLLOW_WINDOW", _env_int, 1)

# ------------------------------------------------------------------------------------------------
# Celery
# ------------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    # mailsite/celery.py creates these folders when the Celery app is first configured.
    _broker_dir = VAR_DIR / "broker"
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
        "visibility_timeout": int(globals().get("NOTIFICATIONS_RETRY_MAX", 3600.0) * 2 + 3600),
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
    "webhook-tokens-prune": {"task": "notifications.tasks.webhook_tokens_prune", "schedule": 600.0},
    "accounts-unconfirmed-prune": {"task": "accounts.tasks.unconfirmed_prune", "schedule": 3600.0},
    "accounts-intents-sweep": {"task": "accounts.tasks.intents_sweep", "schedule": 30.0},
    # Operations (mailsite/tasks.py): stuck-or-bouncing alerts, and retention in bounded batches;
    # the delivery dashboard's hourly sums (notifications/ops/rollup.py).
    "ops-alerts-check": {"task": "mailsite.tasks.alerts_check", "schedule": 60.0},
    "ops-delivery-rollup": {"task": "notifications.tasks.delivery_rollup", "schedule": 300.0},
    "ops-retention-purge": {"task": "mailsite.tasks.retention_purge", "schedule": 600.0},
}
CELERY_TIMEZONE = TIME_ZONE

# ------------------------------------------------------------------------------------------------
# Logging
# ------------------------------------------------------------------------------------------------
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "mailsite.logs.RequestIdFilter"},
        "broker_hostname": {"()": "mailsite.logs.BrokerHostnameFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        "json": {"()": "mailsite.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"kombu.connection": {"filters": ["broker_hostname"]}},
}
# LOG_LEVELS="celery=WARNING,django.server=ERROR": a level per logger, over LOG_LEVEL (make run
# sets it from its verbosity; see mailsite/management/commands/rundev.py).
for _name, _sep, _level in (item.partition("=") for item in env.list("LOG_LEVELS", default=[])):
    if not _name.strip() or _level.strip().upper() not in logging.getLevelNamesMapping():
        raise ImproperlyConfigured(f"LOG_LEVELS: {_name}={_level} is not logger=LEVEL (e.g. celery=WARNING).")
    LOGGING["loggers"].setdefault(_name.strip(), {})["level"] = _level.strip().upper()

# ------------------------------------------------------------------------------------------------
# Operations: metrics, health, alerts (defaults for the rest live with the code that reads them)
# ------------------------------------------------------------------------------------------------
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")  # empty: /metrics is a 404
METRICS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
_from_env("NOTIFICATIONS_ALERT_QUEUE_AGE", _env_int, 1, old="ALERT_QUEUE_AGE")  # seconds
_from_env("NOTIFICATIONS_ALERT_BOUNCE_RATE", _env_float, old="ALERT_BOUNCE_RATE")  # bounced / sent
# Health (mailsite/health.py): /readyz is this process alone; beat, the broker and the workers are
# on /healthz/deep, on /metrics and behind `manage.py health` for their own containers' probes.
HEALTH_BEAT_MAX_AGE = _env_int("HEALTH_BEAT_MAX_AGE", 180, 1)  # seconds; beat publishes every 60
HEALTH_HEARTBEAT_INTERVAL = _env_float("HEALTH_HEARTBEAT_INTERVAL", 10.0, 0.1)  # a worker's timer
HEALTH_WORKER_MAX_AGE = _env_int("HEALTH_WORKER_MAX_AGE", 60, 1)  # seconds
HEALTH_HEARTBEAT_DIR = env.str("HEALTH_HEARTBEAT_DIR", default=str(VAR_DIR / "heartbeat"))  # this container's
HEALTH_BROKER_TIMEOUT = _env_float("HEALTH_BROKER_TIMEOUT", 1.0, 0.05)  # seconds, for /healthz/deep
