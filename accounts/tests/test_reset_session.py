"""After a reset link is opened, no django_session row holds a token that works as a link."""

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from .support import NEW_PASSWORDS, link_path  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_session_keeps_no_working_reset_token(client, outbox, user_factory):
    user = user_factory()
    client.post("/accounts/password/reset/", {"email": "ada@example.com"})
    path = link_path(outbox.last_to("ada@example.com"), "/accounts/password/reset/")
    uidb64, token = path.split("/")[-3:-1]
    response = client.get(path)
    assert response.status_code == 302

    stored = [(row.session_data, str(row.get_decoded())) for row in Session.objects.all()]
    assert stored
    for raw, decoded in stored:
        assert token not in raw and token not in decoded  # before: the token, in clear, in the row
        assert token.split("-")[1] not in decoded

    # What the session does keep opens nothing when used as a link.
    sealed = Session.objects.get().get_decoded()["_password_reset_token"]
    for guess in (sealed["mac"], f"{sealed['ts']}-{sealed['mac']}", f"{sealed['ts']}-{sealed['mac'][:20]}"):
        assert Client().get(f"/accounts/password/reset/{uidb64}/{guess}/").status_code == 400

    # The browser that opened the link can still use it.
    form_path = response["Location"]
    assert client.get(form_path).status_code == 200
    assert client.post(form_path, NEW_PASSWORDS).status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORDS["new_password1"])
    assert client.get(form_path).status_code == 400  # used: the password it was made for is gone
