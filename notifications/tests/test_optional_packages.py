"""The extras' checks: a setting that needs a package that is missing is an error at start-up, and
metrics that record nothing are said so. (The base install without them is run for real by
tests/test_foreign_projects.py; here the packages are hidden from importlib.)"""

import importlib.util

from notifications.checks import optional_packages


def hide(monkeypatch, *names):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in names else find_spec(name, *a))


def test_every_extra_installed_says_nothing(settings):
    settings.NOTIFICATIONS_REDIS_URL = "redis://127.0.0.1:1/0"
    assert optional_packages(None) == []


def test_a_redis_url_without_the_redis_package_is_an_error(settings, monkeypatch):
    settings.NOTIFICATIONS_REDIS_URL = "redis://127.0.0.1:1/0"
    hide(monkeypatch, "redis")
    (error,) = optional_packages(None)
    assert error.id == "notifications.E004" and "mailsite-apps[redis]" in error.hint


def test_no_redis_url_needs_no_redis_package(settings, monkeypatch):
    settings.NOTIFICATIONS_REDIS_URL = None
    hide(monkeypatch, "redis")
    assert optional_packages(None) == []


def test_without_prometheus_client_the_metrics_are_said_to_record_nothing(monkeypatch):
    hide(monkeypatch, "prometheus_client")
    (info,) = optional_packages(None)
    assert info.id == "notifications.I001" and "mailsite-apps[prometheus]" in info.hint
