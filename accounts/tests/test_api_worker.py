"""An app signs up through the API with every real part behind it: a real Celery worker process
carries the sign-up out and hands the mail to a real SMTP server, the app's user reads the link out
of the bytes that server received, and the app verifies and logs in through the API."""

from email import message_from_bytes, policy
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model

from .api_helpers import ApiClient
from .support import PASSWORD, links_in

PREFIX = "/accounts/confirm/"


@pytest.fixture(autouse=True)
def intents_inline(settings):
    settings.ACCOUNTS_INTENTS_INLINE = False  # the worker carries the sign-up out


@pytest.mark.django_db(transaction=True)
def test_app_signs_up_verifies_by_smtp_link_and_logs_in(worker_factory, smtp_server, redis_cache):
    worker = worker_factory(smtp_url=smtp_server.url)
    api = ApiClient("app")
    response = api.post("/auth/signup", {"email": "New@Example.com", "username": "newbie", "password": PASSWORD})
    assert response.status_code == 202, response.content
    assert response.body["authenticated"] is False

    received = smtp_server.wait_for(1)[0]
    assert received["rcpt_tos"] == ["new@example.com"], worker.log()
    message = message_from_bytes(received["raw"], policy=policy.default)
    assert message["Subject"] == "Confirm your email address for mailsite"
    (link,) = set(links_in(message.get_body(("plain",)).get_content(), PREFIX))
    key = urlsplit(link).path[len(PREFIX) :].strip("/")

    assert api.post("/auth/email/verify", {"key": key}).status_code == 200
    assert get_user_model().objects.get(username="newbie").email_confirmed_at is not None
    response = api.post("/auth/login", {"login": "newbie", "password": PASSWORD})
    assert response.status_code == 200, response.content
    assert response.body["user"]["email"] == "new@example.com"
    session = api.get("/auth/session")
    assert session.body["authenticated"] is True and session.body["user"]["username"] == "newbie"
    assert len(smtp_server.messages) == 1  # one sign-up, one mail
