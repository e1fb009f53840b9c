"""The database keeps follows sane on its own: one row per pair, nobody follows themselves."""

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications.models import Follow


def make_user(username):
    return get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password=None, email_confirmed_at=timezone.now()
    )


def test_a_pair_is_stored_once(postgres):
    alice, bob = make_user("alice"), make_user("bob")
    Follow.objects.create(follower=alice, followed=bob)
    with pytest.raises(IntegrityError, match="follow_unique_pair"), transaction.atomic():
        Follow.objects.create(follower=alice, followed=bob)
    Follow.objects.create(follower=bob, followed=alice)  # the other direction is another pair
    assert Follow.objects.count() == 2


def test_nobody_follows_themselves(postgres):
    alice = make_user("alice")
    with pytest.raises(IntegrityError, match="follow_not_self"), transaction.atomic():
        Follow.objects.create(follower=alice, followed=alice)
    assert not Follow.objects.exists()
