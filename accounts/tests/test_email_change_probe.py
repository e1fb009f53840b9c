"""The email-change form answers alike for taken and free addresses, mails the taken address's
owner a notice instead of a link, and counts every attempt before validating anything."""

import pytest

from notifications.models import OutboundEmail

from .support import PASSWORD, links_in  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_cache")]


def answer(client, email, password=PASSWORD):
    """What the prober sees: the response, and the page it leads to (with its message)."""
    response = client.post("/accounts/email/change/", {"email": email, "password": password})
    if response.status_code != 302:
        return response.status_code, None, response.content.decode().replace(email, "ADDRESS")
    shown = [str(m).replace(email, "ADDRESS") for m in client.get(response["Location"]).context["messages"]]
    return response.status_code, response["Location"], shown


def test_a_probe_loop_learns_nothing_and_is_cut_off(client, outbox, user_factory):
    user = user_factory()
    for n in range(5):
        user_factory(email=f"taken{n}@example.com", username=f"taken{n}")
    client.force_login(user)
    answers = {"taken": [], "free": []}
    for n in range(5):
        answers["taken"].append(answer(client, f"taken{n}@example.com"))
        answers["free"].append(answer(client, f"free{n}@example.com"))
    assert answers["taken"] == answers["free"]  # before: "Another account uses this address."
    assert {status for status, *_rest in answers["taken"]} == {302}
    assert answers["taken"][0][2][0].startswith("Check the inbox of ADDRESS")

    # Over the limit everything is a 429, checked before the form: even a wrong password.
    assert answer(client, "taken0@example.com")[0] == 429
    assert answer(client, "free9@example.com", password="wrong")[0] == 429

    for n in range(5):
        notice = outbox.last_to(f"taken{n}@example.com")
        assert not links_in(notice.body, "/accounts/email/change/confirm/")
        assert links_in(outbox.last_to(f"free{n}@example.com").body, "/accounts/email/change/confirm/")
    templates = OutboundEmail.objects.values_list("template", flat=True)
    assert sorted(set(templates)) == ["email_change_confirm", "email_change_taken"]
    user.refresh_from_db()
    assert user.email == "ada@example.com"
