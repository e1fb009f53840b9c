"""What notifications needs from a user, through one hook: NOTIFICATIONS_USER_INFO.

The setting names a function `user -> UserInfo`. The default works with any user model that has an
`email` field, Django's own included:

- the address counts as confirmed when the model has an `email_confirmed_at` field and it is set;
  a model without that field has no confirmation step, so any address it holds counts;
- the language for emails is the model's `language` field when it has one, else the site's
  LANGUAGE_CODE.

A project whose user model keeps these elsewhere points the setting at its own function.
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
