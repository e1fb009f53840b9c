"""The database keeps follows sane on its own: one row per pair, nobody follows themselves."""

import pytest
from django.db import IntegrityError, transaction

from notifications.models import Follow


def test_a_pair_is_stored_once(user_factory, postgres):
    alice, bob = user_factory("alice"), user_factory("bob")
    Follow.objects.create(follower=alice, followed=bob)
    with pytest.raises(IntegrityError, match="follow_unique_pair"), transaction.atomic():
        Follow.objects.create(follower=alice, followed=bob)
    Follow.objects.create(follower=bob, followed=alice)  # the other direction is another pair
    assert Follow.objects.count() == 2


def test_nobody_follows_themselves(user_factory, postgres):
    alice = user_factory("alice")
    with pytest.raises(IntegrityError, match="follow_not_self"), transaction.atomic():
        Follow.objects.create(follower=alice, followed=alice)
    assert not Follow.objects.exists()
