from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from accounts.flows import email_change, email_verification
from accounts.tokens import (
    TokenAddressTaken,
    TokenExpired,
    TokenInvalid,
    TokenUsed,
    confirm_token_generator,
    email_change_token_generator,
)

pytestmark = pytest.mark.django_db


def test_token_round_trip_carries_user_and_address(user_factory):
    user = user_factory(confirmed=False)
    token = confirm_token_generator.make_token(user=user, email=user.email)
    data = confirm_token_generator.read_token(token)
    assert {key: data[key] for key in ("u", "e")} == {"u": user.pk, "e": "ada@example.com"}
    assert user.password not in token and user.password not in str(data)  # only a keyed hash of it
    assert "/" not in token  # fits in one URL path segment


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
        lambda t: "x" + t,  # payload changed
        lambda t: t[: len(t) // 2],  # cut short, as a wrapped link can be
        lambda t: "",
        lambda t: "not-a-token",
        lambda t: t + ":extra",
    ],
)
def test_tampered_tokens_are_invalid(user_factory, mangle):
    user = user_factory(confirmed=False)
    token = confirm_token_generator.make_token(user=user, email=user.email)
    with pytest.raises(TokenInvalid):
        confirm_token_generator.read_token(mangle(token))


def test_token_expires_after_the_confirm_timeout(user_factory):
    user = user_factory(confirmed=False)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        token = confirm_token_generator.make_token(user=user, email=user.email)
    with time_machine.travel(start + timedelta(days=3) - timedelta(seconds=5), tick=False):
        assert email_verification.email_confirm_check(token=token) == user
    with time_machine.travel(start + timedelta(days=3, seconds=5), tick=False):
        with pytest.raises(TokenExpired):
            email_verification.email_confirm_check(token=token)
        with pytest.raises(TokenExpired):
            email_verification.email_confirm(token=token)
    user.refresh_from_db()
    assert user.email_confirmed_at is None


def test_confirm_timeout_is_read_from_settings_at_call_time(user_factory):
    user = user_factory(confirmed=False)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        token = confirm_token_generator.make_token(user=user, email=user.email)
    with (
        time_machine.travel(start + timedelta(minutes=11), tick=False),
        override_settings(ACCOUNTS_CONFIRM_TIMEOUT=600),
    ):
        with pytest.raises(TokenExpired):
            confirm_token_generator.read_token(token)


def test_confirmation_is_single_use(user_factory):
    user = user_factory(confirmed=False)
    token = confirm_token_generator.make_token(user=user, email=user.email)
    assert email_verification.email_confirm(token=token, proofs=[email_verification.signup_proof(user=user)]) == user
    user.refresh_from_db()
    confirmed_at = user.email_confirmed_at
    assert confirmed_at is not None
    with pytest.raises(TokenUsed):
        email_verification.email_confirm(token=token, new_password="another long passphrase")
    user.refresh_from_db()
    assert user.email_confirmed_at == confirmed_at


def test_confirmation_token_is_bound_to_the_address_it_was_sent_to(user_factory):
    user = user_factory(confirmed=False)
    token = confirm_token_generator.make_token(user=user, email=user.email)
    user.email = "other@example.com"
    user.save()
    with pytest.raises(TokenInvalid):
        email_verification.email_confirm(token=token)
    user.refresh_from_db()
    assert user.email_confirmed_at is None


def test_token_for_a_deleted_user_is_invalid(user_factory):
    user = user_factory(confirmed=False)
    token = confirm_token_generator.make_token(user=user, email=user.email)
    user.delete()
    with pytest.raises(TokenInvalid):
        email_verification.email_confirm(token=token)


def test_tokens_of_one_kind_are_not_accepted_as_the_other(user_factory):
    user = user_factory()
    confirm = confirm_token_generator.make_token(user=user, email=user.email)
    change = email_change_token_generator.make_token(user=user, email="new@example.com")
    with pytest.raises(TokenInvalid):
        email_change_token_generator.read_token(confirm)
    with pytest.raises(TokenInvalid):
        confirm_token_generator.read_token(change)


def test_tokens_survive_a_secret_key_rotation_but_not_a_dropped_key(user_factory):
    user = user_factory(confirmed=False)
    old_key, new_key = "old-key-" + "x" * 50, "new-key-" + "y" * 50
    with override_settings(SECRET_KEY=old_key):
        token = confirm_token_generator.make_token(user=user, email=user.email)
    with override_settings(SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=[]):
        with pytest.raises(TokenInvalid):
            confirm_token_generator.read_token(token)
    with override_settings(SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=[old_key]):
        assert (
            email_verification.email_confirm(token=token, proofs=[email_verification.signup_proof(user=user)]) == user
        )


def test_email_change_token_dies_once_the_address_changed(user_factory):
    user = user_factory()
    token = email_change_token_generator.make_token(user=user, email="new@example.com")
    other = email_change_token_generator.make_token(user=user, email="second@example.com")
    email_change.email_change_confirm(token=token)
    user.refresh_from_db()
    assert user.email == "new@example.com"
    with pytest.raises(TokenUsed):
        email_change.email_change_confirm(token=token)
    with pytest.raises(TokenInvalid):  # made for the old address; it must not move the account again
        email_change.email_change_confirm(token=other)


def test_email_change_token_refused_when_the_address_was_taken_meanwhile(user_factory):
    user = user_factory()
    token = email_change_token_generator.make_token(user=user, email="new@example.com")
    user_factory(email="NEW@example.com".lower(), username="grace")
    with pytest.raises(TokenAddressTaken):
        email_change.email_change_check(token=token)
    with pytest.raises(TokenAddressTaken):
        email_change.email_change_confirm(token=token)
    user.refresh_from_db()
    assert user.email == "ada@example.com"


def test_email_change_token_expires(user_factory):
    user = user_factory()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        token = email_change_token_generator.make_token(user=user, email="new@example.com")
    with time_machine.travel(start + timedelta(days=3, seconds=5), tick=False):
        with pytest.raises(TokenExpired):
            email_change.email_change_confirm(token=token)
    user.refresh_from_db()
    assert user.email == "ada@example.com"
