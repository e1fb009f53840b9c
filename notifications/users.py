"""What notifications needs from a user, through one hook: NOTIFICATIONS_USER_INFO.

The setting names a function `user -> UserInfo`. The default works with any user model that has an
`email` field, Django's own included:

- the address counts as confirmed when the model has an `email_confirmed_at` field and it is set;
  a model without that field has no confirmation step, so any address it holds counts;
- the language for emails is the model's `language` field when it has one, else the site's
  LANGUAGE_CODE.

A project whose user model keeps these elsewhere points the setting at its own function, and
NOTIFICATIONS_USERS_CONFIRMED at its own `queryset -> queryset` with the same idea of "confirmed",
which the people pages use to list only confirmed accounts.
"""

from dataclasses import dataclass
from functools import lru_cache

from django.utils.module_loading import import_string

from .conf import settings


@dataclass(frozen=True)
class UserInfo:
    email_confirmed: bool
    language: str


def user_info_default(user):
    if hasattr(user, "email_confirmed_at"):
        confirmed = user.email_confirmed_at is not None
    else:
        confirmed = bool(getattr(user, "email", ""))
    return UserInfo(email_confirmed=confirmed, language=getattr(user, "language", "") or settings.LANGUAGE_CODE)


@lru_cache(maxsize=8)
def _hook(path):
    return import_string(path)


def user_info(user):
    """The hook's answer for `user` (an anonymous user has no confirmed address)."""
    if not user.is_authenticated:
        return UserInfo(email_confirmed=False, language=settings.LANGUAGE_CODE)
    return _hook(settings.NOTIFICATIONS_USER_INFO)(user)


def users_confirmed_default(queryset):
    """The users of `queryset` whose address user_info_default calls confirmed."""
    if any(field.name == "email_confirmed_at" for field in queryset.model._meta.get_fields()):
        return queryset.filter(email_confirmed_at__isnull=False)
    return queryset.exclude(email="")


def users_confirmed(queryset):
    """The users of `queryset` with a confirmed address, through the project's hook."""
    return _hook(settings.NOTIFICATIONS_USERS_CONFIRMED)(queryset)
