"""The outbox backend: what it stores, what it refuses, and what it publishes."""

import json

import pytest
from django.core import mail
from django.db import transaction

from notifications.models import OutboundEmail
from notifications.outbox import services
from notifications.outbox.message import InvalidMessage

BAD_ADDRESSES = ["not an email", "missing-at.example.com", "two@@example.com", "someone@", "@example.com"]


def refused(send, callbacks):
    with pytest.raises(InvalidMessage):
        send()
    assert not OutboundEmail.objects.exists(), "a refused message left a row behind"
    assert callbacks == [], "a refused message scheduled a delivery task"


@pytest.mark.parametrize("address", BAD_ADDRESSES)
def test_send_mail_refuses_an_address_that_is_not_an_email(db, django_capture_on_commit_callbacks, address):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        refused(lambda: mail.send_mail("Hi", "Body", "from@example.com", [address]), callbacks)


@pytest.mark.parametrize("field", ["to", "cc", "bcc", "reply_to"])
def test_email_message_refuses_a_bad_address_in_any_field(db, django_capture_on_commit_callbacks, field):
    fields = {"to": ["ok@example.com"], field: ["ok@example.com", "not an email"]}
    message = mail.EmailMessage("Hi", "Body", "from@example.com", **fields)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        refused(message.send, callbacks)


def test_a_bad_from_address_is_refused(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        refused(lambda: mail.send_mail("Hi", "Body", "nobody", ["to@example.com"]), callbacks)


@pytest.mark.parametrize("to", [[], [""]])
def test_a_message_without_recipients_sends_nothing(db, django_capture_on_commit_callbacks, to):
    """Django's own rule: no recipients, nothing to send (send() answers 0)."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert mail.EmailMessage("Hi", "Body", "from@example.com", to).send() == 0
    assert not OutboundEmail.objects.exists()
    assert callbacks == []


@pytest.mark.parametrize("breaker", ["\n", "\r", "\r\n"])
def test_a_header_with_a_line_break_is_refused(db, django_capture_on_commit_callbacks, breaker):
    injected = f"yes{breaker}Bcc: victim@example.com"
    message = mail.EmailMessage("Hi", "Body", "from@example.com", ["to@example.com"], headers={"X-Note": injected})
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        refused(message.send, callbacks)


def test_a_subject_with_a_line_break_is_refused(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        refused(
            lambda: mail.send_mail("Hi\nBcc: victim@example.com", "Body", "a@example.com", ["b@example.com"]), callbacks
        )


def test_an_address_with_a_line_break_is_refused(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        refused(lambda: mail.send_mail("Hi", "Body", "a@example.com", ["b@example.com\nBcc: c@example.com"]), callbacks)


def test_one_bad_message_in_a_batch_stores_none(db, django_capture_on_commit_callbacks):
    batch = [
        ("One", "Body", "from@example.com", ["one@example.com"]),
        ("Two", "Body", "from@example.com", ["not an email"]),
    ]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        refused(lambda: mail.send_mass_mail(batch), callbacks)


def test_the_message_is_stored_whole(db, django_capture_on_commit_callbacks):
    message = mail.EmailMultiAlternatives(
        "Subject",
        "Text",
        "Sender <from@example.com>",
        ["to@example.com"],
        cc=["cc@example.com"],
        bcc=["bcc@example.com"],
        reply_to=["reply@example.com"],
        headers={"X-Order": "42"},
    )
    message.attach_alternative("<p>HTML</p>", "text/html")
    message.attach("note.txt", "attached", "text/plain")
    message.tags = ["receipt"]
    message.metadata = {"order": 42}
    message.outbox_category = "bulk"
    with django_capture_on_commit_callbacks() as callbacks:
        assert message.send() == 1

    row = OutboundEmail.objects.get()
    assert len(callbacks) == 1
    assert row.status == "queued" and row.category == "bulk" and row.queue == "email-bulk"
    assert row.recipients == "to@example.com, cc@example.com, bcc@example.com"
    payload = row.payload
    assert payload["alternatives"] == [["<p>HTML</p>", "text/html"]]
    assert payload["headers"]["X-Order"] == "42"
    assert payload["headers"]["Message-ID"].endswith("@example.com>")
    assert payload["attachments"][0]["filename"] == "note.txt"
    assert payload["anymail"] == {"tags": ["receipt"], "metadata": {"order": 42}}


def test_a_rolled_back_transaction_sends_nothing(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            mail.send_mail("Hi", "Body", "from@example.com", ["to@example.com"])
            raise RuntimeError("the caller's action failed")
    assert not OutboundEmail.objects.exists()
    assert callbacks == []


def test_enqueue_rings_each_queue_once_whatever_the_number_of_rows(db, redis_client):
    """The table is the queue: a task is a doorbell, so 5 urgent rows and 1 bulk row publish one
    task per queue, and the next rings publish nothing while those tasks wait."""
    urgent = [OutboundEmail.objects.create(from_email="a@example.com", recipients="b@example.com") for _ in range(5)]
    bulk = OutboundEmail.objects.create(from_email="a@example.com", recipients="b@example.com", category="bulk")

    for row in urgent:
        services.outbox_enqueue({"email-urgent": [row.pk]})
    services.outbox_enqueue({"email-bulk": [bulk.pk]})

    def task_args(queue):
        return [json.loads(_body(raw))[0] for raw in redis_client.lrange(queue, 0, -1)]

    assert task_args("email-urgent") == [["urgent"]]
    assert task_args("email-bulk") == [["bulk"]]


def test_a_started_task_lets_the_next_send_ring_again(db, redis_client):
    """A delivery task resets the bell before it claims: a row committed after its last claim
    rings again instead of waiting for the sweeper."""
    from notifications.outbox import doorbell

    assert doorbell.ring("urgent") is True
    assert doorbell.ring("urgent") is False  # a task is on its way
    doorbell.answered("urgent")  # what outbox_drain does first
    assert doorbell.ring("urgent") is True
    assert redis_client.llen("email-urgent") == 2


def _body(raw):
    """The decoded body of a kombu message as Redis holds it."""
    import base64

    envelope = json.loads(raw)
    return base64.b64decode(envelope["body"]).decode()
