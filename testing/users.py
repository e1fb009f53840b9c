"""`user_factory`: the one way tests make a user (allauth's conftest has the same idea)."""

import pytest

PASSWORD = "correct horse battery staple"


def _user_make(who=None, *, username=None, email=None, password=PASSWORD, confirmed=True, active=True, **extra):
    """A saved user. `who` is an address (the username is its local part) or a username (the
    address is <username>@example.com); by default ada@example.com. `confirmed` sets
    email_confirmed_at where the user model has it."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    if who and "@" in who:
        email = email or who
    elif who:
        username = username or who
    email = email or f"{username or 'ada'}@example.com"
    username = username or email.split("@")[0].replace("-", "_")[:30]
    model = get_user_model()
    if any(field.name == "email_confirmed_at" for field in model._meta.get_fields()):
        extra.setdefault("email_confirmed_at", timezone.now() if confirmed else None)
    extra.setdefault("is_active", active)
    return model.objects.create_user(username=username, email=email, password=password, **extra)


@pytest.fixture
def user_factory():
    """user_factory("ada") or user_factory("ada@example.com", confirmed=False, password=..., **fields)."""
    return _user_make
