"""Mail that carries a secret: encrypted at rest, redacted once delivered, readable after a key
rotation. "At rest" is checked the way an intruder would look: the raw table and the raw broker."""

import pytest
from django.core import mail
from django.db import connection
from django.test import override_settings

from notifications.dev.preview import outbound_preview
from notifications.models import OutboundEmail
from notifications.outbox import delivery

from .helpers import wait_status

CODE = "482913"
LINK = "https://mail.example.com/accounts/confirm/?uid=MQ&token=c3x8-9f2b1e7d"
SECRETS = [CODE, LINK, "c3x8-9f2b1e7d"]  # the token alone would do harm too
OLD_KEY = "old-secret-key-" + "x" * 40
NEW_KEY = "new-secret-key-" + "y" * 40


def send_sensitive(to="user@example.com"):
    message = mail.EmailMultiAlternatives(
        f"{CODE} is your code",
        f"Your code is {CODE}. Or open {LINK}",
        "from@example.com",
        [to],
    )
    message.attach_alternative(f'<p>{CODE}</p><a href="{LINK.replace("&", "&amp;")}">confirm</a>', "text/html")
    message.outbox_sensitive = True
    message.outbox_redact = [CODE, LINK]
    message.send()
    return OutboundEmail.objects.latest("id")


def table_dump():
    """Every column of every outbox row, as the database hands it to anyone who can read it."""
    table = connection.ops.quote_name(OutboundEmail._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        return repr(cursor.fetchall())


def redis_dump(client):
    """Every value in the broker's Redis database."""
    chunks = []
    for key in client.keys("*"):
        kind = client.type(key)
        if kind == b"string":
            chunks.append(client.get(key))
        elif kind == b"list":
            chunks.extend(client.lrange(key, 0, -1))
        elif kind == b"hash":
            chunks.extend(b"%s=%s" % item for item in client.hgetall(key).items())
        elif kind == b"set":
            chunks.extend(client.smembers(key))
        elif kind == b"zset":
            chunks.extend(client.zrange(key, 0, -1))
    return b"\n".join(chunks).decode(errors="replace")


def assert_no_secret(text, where):
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} readable in {where}"


def test_content_is_encrypted_at_rest(db):
    row = send_sensitive()

    assert row.sensitive and row.payload == {} and row.payload_encrypted
    assert row.subject == "[redacted] is your code"
    assert_no_secret(table_dump(), "the outbox table")
    assert CODE in outbound_preview(row).text  # the key holder (admin, worker) can still read it


def test_after_delivery_only_a_redacted_copy_is_kept(outbox):
    row = send_sensitive()

    received = outbox.last_to("user@example.com")

    assert CODE in received.body and LINK in received.body  # the recipient gets the real thing
    row.refresh_from_db()
    assert row.status == "sent" and row.redacted and row.payload_encrypted == ""
    assert_no_secret(table_dump(), "the outbox table after delivery")
    preview = outbound_preview(row)
    assert preview.text == "Your code is [redacted]. Or open [redacted]"
    assert 'href="[redacted]"' in preview.html


def test_keep_sensitive_leaves_it_readable_for_the_dev_mailbox(outbox, settings):
    settings.NOTIFICATIONS_KEEP_SENSITIVE = True
    row = send_sensitive()

    outbox.last_to("user@example.com")

    row.refresh_from_db()
    assert row.status == "sent" and not row.redacted and row.payload_encrypted
    assert CODE in outbound_preview(row).text
    assert_no_secret(table_dump(), "the outbox table")  # still encrypted at rest


def test_rotated_secret_key_still_decrypts_with_the_old_one_as_fallback(outbox):
    with override_settings(SECRET_KEY=OLD_KEY, SECRET_KEY_FALLBACKS=[]):
        row = send_sensitive()

    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[OLD_KEY]):
        assert CODE in outbound_preview(row).text
        received = outbox.last_to("user@example.com")
    assert CODE in received.body


def test_a_key_no_longer_configured_fails_the_row_without_retries(outbox, settings):
    with override_settings(SECRET_KEY=OLD_KEY, SECRET_KEY_FALLBACKS=[]):
        row = send_sensitive()

    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[]):
        preview = outbound_preview(row)
        assert not preview.readable
        assert delivery.deliver_one(row.pk) == "failed"
    row.refresh_from_db()
    assert row.attempts == 1 and "cannot be decrypted" in row.last_error
    assert mail.outbox == []


@pytest.mark.parametrize("keep", [False, True])
def test_through_the_worker_neither_database_nor_broker_holds_the_secret(
    worker_factory, smtp_server, redis_client, keep
):
    row = send_sensitive()  # no worker yet: the task waits in Redis
    assert redis_client.llen("email-urgent") == 1
    assert_no_secret(redis_dump(redis_client), "the Redis broker")
    assert_no_secret(table_dump(), "the outbox table")

    worker_factory(smtp_url=smtp_server.url, DEBUG="1" if keep else "0")
    row = wait_status(row.pk, "sent")

    delivered = smtp_server.wait_for(1)[0]["message"]
    assert CODE in delivered.get_body(("plain",)).get_content()
    assert delivered["Subject"] == f"{CODE} is your code"
    assert row.redacted is not keep  # DEBUG on keeps it (encrypted) for the dev mailbox
    assert_no_secret(table_dump(), "the outbox table after delivery")
    assert_no_secret(redis_dump(redis_client), "Redis after delivery")
