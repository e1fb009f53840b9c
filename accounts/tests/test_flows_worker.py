"""Sign-up to confirmed account with every real part: the web request records the sign-up, a real
Celery worker process creates the account and writes the outbox row, a worker hands the mail to a
real SMTP server, and the link is read out of the message that server received."""

from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model

from .support import PASSWORD, links_in  # noqa: F401


@pytest.fixture(autouse=True)
def intents_inline(settings):
    settings.ACCOUNTS_INTENTS_INLINE = False  # the worker carries the sign-up out


@pytest.mark.django_db(transaction=True)
def test_signup_link_arrives_by_smtp_and_confirms(worker_factory, smtp_server, client):
    worker = worker_factory(smtp_url=smtp_server.url)
    data = {"email": "new@example.com", "username": "newbie", "password1": PASSWORD, "password2": PASSWORD}
    assert client.post("/accounts/signup/", data).status_code == 302

    received = smtp_server.wait_for(1)[0]
    assert received["rcpt_tos"] == ["new@example.com"], worker.log()
    message = received["message"]
    assert message["Subject"] == "Confirm your email address for mailsite"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    links = links_in(text, "/accounts/confirm/")
    assert len(links) == 1 and links == links_in(html, "/accounts/confirm/")[:1]

    path = urlsplit(links[0]).path
    assert client.post(path).status_code == 302
    assert get_user_model().objects.get().email_confirmed_at is not None
