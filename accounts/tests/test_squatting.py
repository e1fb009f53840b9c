"""A squatter who signs up with someone else's address ends with no way in, whatever link the
owner uses; unconfirmed accounts are deleted after the confirmation timeout."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from accounts import tasks
from accounts.conf import settings

from .support import NEW_PASSWORDS, link_path  # noqa: F401

pytestmark = pytest.mark.django_db

SQUATTER_PASSWORD = "the squatter knows this one"


def signup(client, email, username, password):
    data = {"email": email, "username": username, "password1": password, "password2": password}
    assert client.post("/accounts/signup/", data).status_code == 302


def logs_in(password):
    response = Client().post("/accounts/login/", {"username": "victim@example.com", "password": password})
    return response.status_code == 302


@pytest.mark.parametrize("mail", ["confirm", "signup_existing"])
def test_owner_confirming_leaves_the_squatter_no_way_in(outbox, mail):
    squatter = Client()
    signup(squatter, "victim@example.com", "squatter", SQUATTER_PASSWORD)
    if mail == "signup_existing":  # the owner signs up later and gets "you already have an account"
        signup(Client(), "victim@example.com", "victim", "the victim's own passphrase")
    message = outbox.rows(template=mail).get()
    assert message.recipients == "victim@example.com"
    path = link_path(outbox.last_to("victim@example.com"), "/accounts/confirm/")

    owner = Client()
    page = owner.get(path)
    assert page.status_code == 200 and 'name="new_password1"' in page.content.decode()
    assert owner.post(path).status_code == 200  # the button alone does not confirm: a password is needed
    assert get_user_model().objects.get().email_confirmed_at is None
    assert owner.post(path, NEW_PASSWORDS).status_code == 302  # before: confirmed with the squatter's password

    account = get_user_model().objects.get()
    assert account.email_confirmed_at is not None
    assert not logs_in(SQUATTER_PASSWORD)
    assert logs_in(NEW_PASSWORDS["new_password1"])
    assert squatter.get("/accounts/email/change/").status_code == 302  # no session either: sent to log in


def test_the_browser_that_signed_up_keeps_its_password(client, outbox):
    signup(client, "victim@example.com", "victim", "the victim's own passphrase")
    path = link_path(outbox.last_to("victim@example.com"), "/accounts/confirm/")
    assert 'name="new_password1"' not in client.get(path).content.decode()
    assert client.post(path).status_code == 302
    assert logs_in("the victim's own passphrase")


def test_unconfirmed_accounts_older_than_the_timeout_are_deleted(user_factory):
    old = timezone.now() - timedelta(seconds=settings.ACCOUNTS_CONFIRM_TIMEOUT + 60)
    user_factory(email="stale@example.com", username="stale", confirmed=False, date_joined=old)
    user_factory(email="fresh@example.com", username="fresh", confirmed=False)
    user_factory(email="done@example.com", username="done", date_joined=old)
    user_factory(email="staff@example.com", username="staff", confirmed=False, date_joined=old, is_staff=True)
    assert tasks.unconfirmed_prune() == 1
    assert sorted(get_user_model().objects.values_list("username", flat=True)) == ["done", "fresh", "staff"]


def test_the_prune_runs_on_the_beat_schedule():
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "accounts.tasks.unconfirmed_prune" in tasks_scheduled
