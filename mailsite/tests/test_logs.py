"""Logs an operator can follow: a request id on each line of a request, JSON lines on request,
and the outbox ids a request stored, on a line carrying that request id."""

import io
import json
import logging

import pytest

from mailsite.logs import JsonFormatter, RequestIdFilter


@pytest.fixture
def json_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


def test_a_request_that_sends_mail_logs_its_outbox_ids_under_its_request_id(client, db, json_log, redis_cache):
    from notifications.models import OutboundEmail

    response = client.post(
        "/accounts/password/reset/", {"email": "nobody@example.com"}, HTTP_X_REQUEST_ID="req-12345678"
    )
    assert response["X-Request-ID"] == "req-12345678"
    lines = json_log()
    stored = [line for line in lines if line.get("outbox_ids")]
    ids = list(OutboundEmail.objects.values_list("pk", flat=True))
    if ids:  # Django's reset form mails only known addresses; the request line is there either way
        assert stored[0]["outbox_ids"] == ids and stored[0]["request_id"] == "req-12345678"
    request_line = next(line for line in lines if line["logger"] == "mailsite.request")
    assert request_line["request_id"] == "req-12345678"
    assert request_line["message"].startswith("POST ")


def test_signup_mail_ids_lead_from_the_request_to_the_worker_log(client, db, json_log, outbox, redis_cache, settings):
    from notifications.models import OutboundEmail

    settings.ACCOUNTS_INTENTS_INLINE = True  # the sign-up's worker half, which queues the mail, in this request

    client.post(
        "/accounts/signup/",
        {
            "email": "ada@example.com",
            "username": "ada",
            "password1": "a fine long passphrase 7",
            "password2": "a fine long passphrase 7",
        },
        HTTP_X_REQUEST_ID="signup-request-1",
    )
    row = OutboundEmail.objects.get()
    outbox.deliver()
    lines = json_log()
    stored = next(line for line in lines if line.get("outbox_ids"))
    assert stored == {**stored, "outbox_ids": [row.pk], "request_id": "signup-request-1"}
    sent = next(line for line in lines if line.get("outbox_id") == row.pk)
    assert "sent via transport" in sent["message"]


def test_a_malformed_request_id_is_replaced(client, db):
    response = client.get("/healthz")
    assert "X-Request-ID" not in response  # answered before the request-id middleware
    response = client.get("/", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert response["X-Request-ID"] != "bad id\nwith newline" and len(response["X-Request-ID"]) == 32
