"""Start-up with bad settings: `manage.py check` and `celery -A mailsite` stop with one line that
names the variable to fix. Each case runs the real entry point in a subprocess with a clean
environment, as an operator would."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
PREFIX = "mailsite: configuration error: "


def run(command, timeout=120, **env):
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "SECRET_KEY": "s" * 50}
    clean.update(env)
    return subprocess.run(command, cwd=BASE_DIR, env=clean, capture_output=True, text=True, timeout=timeout)


def manage(*args, **env):
    return run([sys.executable, "manage.py", *args], **env)


BAD = [
    pytest.param({"EMAIL_PROVIDER": "pigeon"}, ["EMAIL_PROVIDER", "pigeon"], id="unknown-provider"),
    pytest.param({"DATABASE_URL": "not a url"}, ["DATABASE_URL"], id="database-url-scheme"),
    pytest.param({"DATABASE_URL": "postgres://u:p@db:notaport/x"}, ["DATABASE_URL"], id="database-url-port"),
    pytest.param({"DEBUG": "0", "SECRET_KEY": ""}, ["SECRET_KEY"], id="no-secret-key"),
    pytest.param({"DEBUG": "ture"}, ["DEBUG"], id="debug-typo"),
    pytest.param({"REDIS_URL": "localhost:6379"}, ["REDIS_URL"], id="redis-url"),
    pytest.param({"NOTIFICATIONS_EMAIL_TIMEOUT": "soon"}, ["NOTIFICATIONS_EMAIL_TIMEOUT"], id="email-timeout"),
    pytest.param({"EMAIL_TIMEOUT": "soon"}, ["EMAIL_TIMEOUT"], id="email-timeout-older-name"),
    pytest.param({"ACCOUNTS_TRUSTED_PROXIES": "nowhere"}, ["ACCOUNTS_TRUSTED_PROXIES"], id="trusted-proxies"),
    pytest.param({"EMAIL_PROVIDER": "smtp"}, ["EMAIL_URL"], id="smtp-without-url"),
    pytest.param({"EMAIL_PROVIDER": "smtp", "EMAIL_URL": "smtp://"}, ["EMAIL_URL"], id="smtp-without-host"),
    pytest.param(
        {"EMAIL_PROVIDER": "ses"},
        ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"],
        id="ses-without-credentials",
    ),
    pytest.param(
        {"EMAIL_PROVIDER": "ses", "AWS_DEFAULT_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIA"},
        ["AWS_SECRET_ACCESS_KEY"],
        id="ses-without-secret",
    ),
    pytest.param({"EMAIL_PROVIDER": "mailgun"}, ["MAILGUN_API_KEY", "MAILGUN_SENDER_DOMAIN"], id="mailgun"),
    pytest.param(
        {"EMAIL_PROVIDER": "mailgun", "MAILGUN_API_KEY": "key"}, ["MAILGUN_SENDER_DOMAIN"], id="mailgun-domain"
    ),
]


def assert_one_clear_line(result, names):
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(PREFIX)
    for name in names:
        assert name in lines[0]


@pytest.mark.parametrize(("env", "names"), BAD)
def test_manage_py_stops_with_one_line_naming_the_variable(env, names):
    assert_one_clear_line(manage("check", **env), names)


@pytest.mark.parametrize(("env", "names"), BAD[:1] + BAD[7:8])
def test_celery_command_stops_with_the_same_line(env, names):
    assert_one_clear_line(run([CELERY, "-A", "mailsite", "worker", "--pool=solo"], **env), names)


def test_manage_py_celery_stops_with_the_same_line():
    assert_one_clear_line(manage("celery", "worker", "--pool=solo", EMAIL_PROVIDER="smtp"), ["EMAIL_URL"])


GOOD = [
    pytest.param({}, id="defaults"),
    pytest.param({"EMAIL_PROVIDER": "smtp", "EMAIL_URL": "smtp+tls://user:pass@mail.example.com:587"}, id="smtp"),
    pytest.param(
        {
            "EMAIL_PROVIDER": "ses",
            "AWS_ACCESS_KEY_ID": "AKIA",
            "AWS_SECRET_ACCESS_KEY": "secret",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AMAZON_SES_ENDPOINT_URL": "http://127.0.0.1:9",
        },
        id="ses",
    ),
    pytest.param({"EMAIL_PROVIDER": "mailgun", "MAILGUN_API_KEY": "k", "MAILGUN_SENDER_DOMAIN": "mg.x"}, id="mailgun"),
    pytest.param({"DATABASE_URL": ""}, id="empty-database-url-is-the-default"),
]


@pytest.mark.parametrize("env", GOOD)
def test_good_settings_pass_the_checks(env):
    result = manage("check", **env)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def show(expression, **env):
    code = f"from django.conf import settings; print(repr({expression}))"
    result = manage("shell", "--no-imports", "-c", code, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_providers_are_wired_from_the_environment():
    smtp = show(
        "settings.MAILERS['transport']",
        EMAIL_PROVIDER="smtp",
        EMAIL_URL="smtp+tls://user:pass@mail.example.com:587",
        EMAIL_TIMEOUT="7",
    )
    assert "smtp.EmailBackend" in smtp and "'mail.example.com'" in smtp and "'port': 587" in smtp
    assert "'use_tls': True" in smtp and "'timeout': 7" in smtp
    ses = show(
        "(settings.MAILERS['transport'], settings.ANYMAIL['AMAZON_SES_CLIENT_PARAMS']['endpoint_url'])",
        EMAIL_PROVIDER="ses",
        AWS_ACCESS_KEY_ID="AKIA",
        AWS_SECRET_ACCESS_KEY="secret",
        AWS_DEFAULT_REGION="eu-west-1",
        AMAZON_SES_ENDPOINT_URL="http://ses.local:4566",
    )
    assert "amazon_ses.EmailBackend" in ses and "http://ses.local:4566" in ses
    mailgun = show(
        "(settings.MAILERS['transport'], settings.ANYMAIL['MAILGUN_API_URL'])",
        EMAIL_PROVIDER="mailgun",
        MAILGUN_API_KEY="k",
        MAILGUN_SENDER_DOMAIN="mg.example.com",
        MAILGUN_API_URL="http://mailgun.local/v3",
    )
    assert "mailgun.EmailBackend" in mailgun and "http://mailgun.local/v3" in mailgun


def test_app_settings_take_their_variable_or_its_older_name():
    rate = "__import__('notifications.conf').conf.settings.NOTIFICATIONS_MAX_RATE"
    assert show(rate) == "0.0"  # the app's default: the project sets nothing
    assert show(rate, NOTIFICATIONS_MAX_RATE="14") == "14.0"
    assert show(rate, EMAIL_MAX_RATE="3") == "3.0"
    assert show(rate, NOTIFICATIONS_MAX_RATE="14", EMAIL_MAX_RATE="3") == "14.0"


def test_sensitive_mail_is_kept_readable_only_in_debug():
    assert show("__import__('notifications.conf').conf.settings.NOTIFICATIONS_KEEP_SENSITIVE", DEBUG="1") == "True"
    assert show("__import__('notifications.conf').conf.settings.NOTIFICATIONS_KEEP_SENSITIVE", DEBUG="0") == "False"


def test_the_default_mailer_is_the_outbox_and_nothing_deprecated_is_set():
    assert show("settings.MAILERS['default']['BACKEND']") == "'notifications.backends.OutboxBackend'"
    legacy = "('EMAIL_BACKEND', 'EMAIL_HOST', 'EMAIL_PORT', 'EMAIL_HOST_USER', 'EMAIL_USE_TLS', 'EMAIL_TIMEOUT')"
    assert show(f"[name for name in {legacy} if settings.is_overridden(name)]") == "[]"
