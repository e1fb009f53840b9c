"""Email and username are unique regardless of case, enforced by PostgreSQL itself, and a sign-up
that loses a race to the constraint leaves nothing half-written, never a 500."""

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from accounts.flows.signup import user_register
from accounts.forms import SignupForm
from notifications.models import OutboundEmail

from .support import PASSWORD  # noqa: F401


def raw_user(email, username):
    # Straight to the database: no form, no manager normalisation.
    return get_user_model()(email=email, username=username, password="!")


@pytest.mark.parametrize(
    "email, username",
    [("ADA@example.com", "other"), ("ada@EXAMPLE.COM", "other"), ("x@example.com", "ADA"), ("y@example.com", "aDa")],
)
def test_database_refuses_case_variants(user_factory, postgres, email, username):
    user_factory(email="ada@example.com", username="ada")
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_user(email, username).save()
    assert get_user_model().objects.count() == 1


def test_service_refuses_case_variants_and_sends_nothing(user_factory, postgres):
    user_factory()
    with pytest.raises(IntegrityError):
        user_register(email="new@example.com", username="ADA", password=PASSWORD)
    with pytest.raises(IntegrityError):
        user_register(email="Ada@Example.com", username="newbie", password=PASSWORD)
    assert get_user_model().objects.count() == 1
    assert not OutboundEmail.objects.exists()  # the mail was in the rolled-back transaction


def test_signup_that_loses_a_race_creates_nothing_and_says_so_by_mail(user_factory, postgres, client, monkeypatch):
    """The worker creates the account; a username taken between the request and the worker
    leaves no account and no confirmation behind, only a notice to sign up again (the request had
    answered as it always does)."""
    user_factory(email="first@example.com", username="Newbie")
    # The form's own check passes (as if the other sign-up committed just after it ran).
    monkeypatch.setattr(SignupForm, "clean_username", lambda self: self.cleaned_data["username"])
    data = {"email": "new@example.com", "username": "newbie", "password1": PASSWORD, "password2": PASSWORD}
    response = client.post("/accounts/signup/", data)
    assert response.status_code == 302
    assert get_user_model().objects.count() == 1
    assert list(OutboundEmail.objects.values_list("template", "recipients")) == [
        ("signup_username_taken", "new@example.com")
    ]
