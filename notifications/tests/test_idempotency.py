"""Idempotency keys, against PostgreSQL and a real SMTP server: the same key twice (or in a race of
parallel calls) is one row and one message; the header never reaches the wire; a key reused for
another message is refused; an expired key is free again and retention deletes it."""

import threading
from datetime import timedelta

import pytest
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.utils import timezone

from notifications.models import IdempotencyKey, OutboundEmail
from notifications.ops import retention
from notifications.outbox.message import InvalidMessage
from notifications.services import IdempotencyKeyReused, email_send


def send_welcome(key, to="ann@example.com"):
    return email_send(template="confirm", to=to, context={"link": "https://x/1"}, idempotency_key=key)


def test_the_same_key_twice_stores_and_sends_one_message(smtp_inbox):
    first = send_welcome("order-1")
    second = send_welcome("order-1")
    assert first.outbox_id is not None and (first.outbox_duplicate, second.outbox_duplicate) == (False, True)
    assert second.outbox_id == first.outbox_id
    assert OutboundEmail.objects.count() == 1
    assert len(smtp_inbox.messages_to("ann@example.com")) == 1
    third = send_welcome("order-2")  # another key is another message
    assert third.outbox_id != first.outbox_id and OutboundEmail.objects.count() == 2


def test_the_header_is_the_key_and_is_taken_off_before_the_wire(smtp_inbox):
    def send(body="Your order shipped."):
        message = EmailMessage("Shipped", body, "shop@example.com", ["ann@example.com"])
        message.extra_headers["X-Idempotency-Key"] = "ship-77"
        message.send()
        return message

    first = send()
    assert send().outbox_id == first.outbox_id
    row = OutboundEmail.objects.get()
    assert not any(name.lower() == "x-idempotency-key" for name in row.payload["headers"])
    (received,) = smtp_inbox.messages_to("ann@example.com")
    assert b"idempotency" not in received.raw.lower() and b"ship-77" not in received.raw
    with pytest.raises(IdempotencyKeyReused, match="different message"), transaction.atomic():
        send(body="Your order was cancelled.")
    assert OutboundEmail.objects.count() == 1


def test_the_same_key_for_another_template_or_recipient_is_an_error_that_says_so(db):
    send_welcome("k")
    with pytest.raises(IdempotencyKeyReused) as refused, transaction.atomic():
        send_welcome("k", to="bob@example.com")
    assert "'k' was used for a different message within the last 24 hours" in str(refused.value)
    assert OutboundEmail.objects.count() == 1


def test_a_fresh_render_of_the_same_template_is_the_same_message(db):
    first = email_send(template="confirm", to="ann@example.com", context={"link": "https://x/1"}, idempotency_key="c")
    again = email_send(template="confirm", to="ann@example.com", context={"link": "https://x/2"}, idempotency_key="c")
    assert again.outbox_duplicate and again.outbox_id == first.outbox_id


def test_twins_in_one_batch_are_one_row(db):
    from notifications.backends import OutboxBackend

    messages = [EmailMessage("Hi", "same", "s@example.com", ["ann@example.com"]) for _ in range(2)]
    for message in messages:
        message.extra_headers["X-Idempotency-Key"] = "batch"
    assert OutboxBackend().send_messages(messages) == 2
    (row,) = OutboundEmail.objects.all()
    assert [m.outbox_id for m in messages] == [row.pk, row.pk]
    assert IdempotencyKey.objects.get(key="batch").email_id == row.pk


@pytest.mark.parametrize("key", ["a\nb", "x" * 256])
def test_a_key_that_cannot_be_one_is_refused(db, key):
    with pytest.raises(InvalidMessage, match="idempotency key"):
        send_welcome(key)
    assert not OutboundEmail.objects.exists()


def test_a_race_of_parallel_sends_with_one_key_writes_exactly_one_row(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("the race needs a database that runs transactions in parallel")
    callers = 8
    start, results, errors = threading.Barrier(callers), [], []

    def call():
        from django.db import connections

        try:
            start.wait()
            results.append(send_welcome("race"))
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert OutboundEmail.objects.count() == 1
    row = OutboundEmail.objects.get()
    assert {message.outbox_id for message in results} == {row.pk}
    assert sum(not message.outbox_duplicate for message in results) == 1


def test_a_key_expires_after_the_window_and_retention_deletes_it(db, settings):
    settings.NOTIFICATIONS_IDEMPOTENCY_WINDOW = 3600
    first = send_welcome("late")
    key = IdempotencyKey.objects.get(key="late")
    assert key.expires_at - key.created_at == timedelta(hours=1)
    assert retention.retention_apply()["idempotency_keys_deleted"] == 0
    IdempotencyKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    later = send_welcome("late")  # taken over: a new message
    assert not later.outbox_duplicate and later.outbox_id != first.outbox_id
    assert IdempotencyKey.objects.get(key="late").email_id == later.outbox_id
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert retention.retention_apply()["idempotency_keys_deleted"] == 1
    assert not IdempotencyKey.objects.exists()


def test_a_confirmation_resent_within_the_same_minute_is_one_message(db, user_factory, monkeypatch, outbox):
    import time

    from accounts.flows.email_verification import confirmation_send

    user = user_factory("ada@example.com", confirmed=False)
    minute = (time.time() // 60) * 60 + 5
    monkeypatch.setattr(time, "time", lambda: minute)
    confirmation_send(user=user)
    confirmation_send(user=user)
    assert OutboundEmail.objects.filter(template="confirm").count() == 1
    monkeypatch.setattr(time, "time", lambda: minute + 60)  # the next minute: a new message
    confirmation_send(user=user)
    assert OutboundEmail.objects.filter(template="confirm").count() == 2
    assert len(outbox.messages_to("ada@example.com")) == 2
