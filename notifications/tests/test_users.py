"""The one hook through which notifications learns about a user (NOTIFICATIONS_USER_INFO)."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from notifications.users import UserInfo, user_info, user_info_default


def custom_info(user):
    return UserInfo(email_confirmed=user.email.endswith("@verified.example"), language="zh-hans")


def plain_user(**fields):
    """A user as Django's own model has it: no confirmation field, no language."""
    return SimpleNamespace(**{"is_authenticated": True, "email": "ada@example.com", **fields})


def test_a_user_model_without_confirmation_counts_its_address_as_confirmed(settings):
    settings.LANGUAGE_CODE = "en"
    assert user_info(plain_user()) == UserInfo(email_confirmed=True, language="en")
    assert user_info(plain_user(email="")) == UserInfo(email_confirmed=False, language="en")


def test_a_user_model_with_the_fields_is_read_from_them():
    assert user_info_default(plain_user(email_confirmed_at=None, language="zh-hans")) == UserInfo(False, "zh-hans")
    assert user_info_default(plain_user(email_confirmed_at=timezone.now(), language="")).email_confirmed


def test_anonymous_has_no_confirmed_address():
    assert user_info(AnonymousUser()).email_confirmed is False


@pytest.mark.django_db
def test_a_project_points_the_setting_at_its_own_function(settings, user_factory):
    settings.NOTIFICATIONS_USER_INFO = f"{__name__}.custom_info"
    confirmed_in_db = user_factory(email="grace@example.com", confirmed=True)
    assert user_info(confirmed_in_db) == UserInfo(email_confirmed=False, language="zh-hans")
    assert user_info(plain_user(email="x@verified.example")).email_confirmed
