"""Deleting your own account: by password or emailed code, a notice, and the outbox purged."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.conf import settings as app_settings
from accounts.flows import account_deletion
from accounts.models import UserSession
from notifications.models import Follow
from notifications.services import email_send
from testing.users import PASSWORD

pytestmark = pytest.mark.django_db


def test_deletion_purges_the_outbox_but_the_notice(outbox, user_factory):
    ada, bob = user_factory("ada"), user_factory("bob")
    Follow.objects.create(follower=ada, followed=bob)
    for to in ("ada@example.com", "bob@example.com", ["bob@example.com", "ada@example.com"]):
        email_send(template="password_changed", to=to, context={"user": ada, "reset_url": "x"})
    email_send(template="password_changed", to="xada@example.com", context={"user": ada, "reset_url": "x"})

    assert account_deletion.account_delete(user=ada) == 2
    assert not get_user_model().objects.filter(username="ada").exists()
    assert not Follow.objects.exists()
    rows = outbox.rows()
    assert [row.recipients for row in rows.filter(recipients__contains="ada@")] == [
        "xada@example.com",
        "ada@example.com",
    ]
    assert rows.get(recipients="ada@example.com").template == "account_deleted"
    assert "was deleted" in outbox.last_to("ada@example.com").subject


def test_a_code_confirms_once_and_dies_after_wrong_tries(outbox, user_factory, settings):
    ada = user_factory("ada")
    account_deletion.deletion_code_send(user=ada)
    message = outbox.last_to("ada@example.com")
    code = next(line.strip() for line in message.body.splitlines() if line.strip().isdigit())
    assert outbox.rows(template="account_delete_code").get().sensitive
    with pytest.raises(account_deletion.DeletionError):
        account_deletion.deletion_confirm(user=ada, code="000000" if code != "000000" else "111111")
    account_deletion.deletion_confirm(user=ada, code=code)
    with pytest.raises(account_deletion.DeletionError):  # single use
        account_deletion.deletion_confirm(user=ada, code=code)

    settings.ACCOUNTS_RATE_LIMITS_ENABLED = False
    account_deletion.deletion_code_send(user=ada)
    code = next(line.strip() for line in outbox.last_to("ada@example.com").body.splitlines() if line.strip().isdigit())
    wrong = "000000" if code != "000000" else "111111"
    for _try in range(app_settings.ACCOUNTS_CODE_MAX_ATTEMPTS):
        with pytest.raises(account_deletion.DeletionError):
            account_deletion.deletion_confirm(user=ada, code=wrong)
    with pytest.raises(account_deletion.DeletionError):  # the right code, too late
        account_deletion.deletion_confirm(user=ada, code=code)


def test_confirmation_tries_are_limited(user_factory):
    ada = user_factory("ada")
    for _try in range(10):
        with pytest.raises(account_deletion.DeletionError) as caught:
            account_deletion.deletion_confirm(user=ada, password="guess")
        assert not isinstance(caught.value, account_deletion.DeletionLimited)
    with pytest.raises(account_deletion.DeletionLimited) as caught:
        account_deletion.deletion_confirm(user=ada, password=PASSWORD)  # even the right one, once limited
    assert caught.value.retry_after > 0


def test_the_page_deletes_with_the_password_and_logs_out(outbox, user_factory):
    ada = user_factory("ada")
    client, other = Client(), Client()
    for browser in (client, other):
        assert browser.post("/accounts/login/", {"username": "ada", "password": PASSWORD}).status_code == 302
    wrong = client.post("/accounts/delete/", {"password": "not it"})
    assert wrong.status_code == 200 and b"incorrectly" in wrong.content
    assert get_user_model().objects.filter(pk=ada.pk).exists()

    response = client.post("/accounts/delete/", {"password": PASSWORD})
    assert response.status_code == 302
    assert not get_user_model().objects.filter(pk=ada.pk).exists()
    assert not UserSession.objects.exists()
    assert not client.get("/").context["user"].is_authenticated
    assert not other.get("/").context["user"].is_authenticated
    assert outbox.rows().get().template == "account_deleted"


def test_the_page_deletes_with_an_emailed_code(outbox, user_factory):
    user_factory("ada")
    client = Client()
    client.post("/accounts/login/", {"username": "ada", "password": PASSWORD})
    assert client.post("/accounts/delete/code/").status_code == 302
    body = outbox.last_to("ada@example.com").body
    code = next(line.strip() for line in body.splitlines() if line.strip().isdigit())
    assert client.post("/accounts/delete/", {"code": code}).status_code == 302
    assert not get_user_model().objects.filter(username="ada").exists()
