import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from notifications.models import OutboundEmail

from .support import NEW_PASSWORDS, link_path  # noqa: F401

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_user_changelist")


@pytest.fixture
def people(user_factory):
    return {
        "waiting": user_factory(email="waiting@example.com", username="waiting", confirmed=False),
        "done": user_factory(email="done@example.com", username="done"),
        "gone": user_factory(email="gone@example.com", username="gone", confirmed=False, is_active=False),
    }


def listed(response):
    return {user.username for user in response.context["cl"].result_list}


def test_changelist_columns_filters_and_search(admin_client, people):
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    body = response.content.decode()
    for column in ("column-email", "column-username", "column-confirmed", "column-date_joined"):
        assert column in body
    assert listed(admin_client.get(CHANGELIST + "?confirmed=no")) == {"waiting", "gone", "admin"}
    assert listed(admin_client.get(CHANGELIST + "?confirmed=yes")) == {"done"}
    assert listed(admin_client.get(CHANGELIST + "?is_active__exact=0")) == {"gone"}
    assert listed(admin_client.get(CHANGELIST + "?q=WAITING")) == {"waiting"}
    assert listed(admin_client.get(CHANGELIST + "?q=done@example")) == {"done"}


def test_resend_confirmation_action_mails_only_unconfirmed_active_users(admin_client, people, outbox, client):
    ids = [u.pk for u in people.values()]
    response = admin_client.post(CHANGELIST, {"action": "resend_confirmation", "_selected_action": ids}, follow=True)
    body = response.content.decode()
    assert "Sent a confirmation link to 1 user." in body
    assert "Skipped 2 users who are already confirmed or inactive." in body
    assert list(OutboundEmail.objects.values_list("recipients", flat=True)) == ["waiting@example.com"]
    path = link_path(outbox.last_to("waiting@example.com"), "/accounts/confirm/")
    assert client.post(path, NEW_PASSWORDS).status_code == 302  # made by an operator: a password is chosen
    people["waiting"].refresh_from_db()
    assert people["waiting"].email_confirmed_at is not None


def test_mark_confirmed_action(admin_client, people):
    done_at = people["done"].email_confirmed_at
    ids = [people["waiting"].pk, people["done"].pk]
    response = admin_client.post(CHANGELIST, {"action": "mark_confirmed", "_selected_action": ids}, follow=True)
    assert "Marked 1 user as confirmed." in response.content.decode()
    for user in people.values():
        user.refresh_from_db()
    assert people["waiting"].email_confirmed_at is not None
    assert people["done"].email_confirmed_at == done_at
    assert people["gone"].email_confirmed_at is None
    assert not OutboundEmail.objects.exists()


def test_admin_add_user_normalises_and_refuses_case_collisions(admin_client, people):
    add = reverse("admin:accounts_user_add")
    assert admin_client.get(add).status_code == 200
    base = {"usable_password": "true", "password1": "a long admin phrase", "password2": "a long admin phrase"}
    response = admin_client.post(add, {**base, "email": "Done@Example.com", "username": "someone"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["email"] == ["Another account uses this address."]
    response = admin_client.post(add, {**base, "email": "x@example.com", "username": "WAITING"})
    assert response.status_code == 200
    assert "username" in response.context["adminform"].form.errors
    response = admin_client.post(add, {**base, "email": " Fresh@Example.com ", "username": "fresh"})
    assert response.status_code == 302
    assert get_user_model().objects.get(username="fresh").email == "fresh@example.com"


def test_admin_change_user_refuses_case_collisions(admin_client, people):
    user = people["waiting"]
    change = reverse("admin:accounts_user_change", args=[user.pk])
    page = admin_client.get(change)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update({"email": "DONE@example.com", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"})
    data.pop("password", None)
    data.pop("date_joined", None)
    data.pop("last_login", None)
    data.pop("email_confirmed_at", None)
    data["groups"] = []
    data["user_permissions"] = []
    response = admin_client.post(change, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["email"] == ["Another account uses this address."]
    user.refresh_from_db()
    assert user.email == "waiting@example.com"
