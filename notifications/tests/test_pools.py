"""Every Celery pool a deployment may pick (the tutorial runs `-P gevent`): real worker processes
with many threads or greenlets sending at once over their own connections. Each message must
arrive once, with its own body, and its row must say so."""

import pytest
from django.core import mail

from notifications.models import OutboundEmail

from .helpers import wait_until

COUNT = 60


@pytest.mark.parametrize("pool", ["threads", "gevent"])
def test_every_message_arrives_once_with_its_own_body(worker_factory, smtp_server, pool):
    smtp_server.handler.delay = 0.02  # a server that takes its time, so sends overlap
    worker = worker_factory(smtp_url=smtp_server.url, pool=pool, concurrency=8, NOTIFICATIONS_CHUNK_SIZE=4)

    for n in range(COUNT):  # what every flow does: one send() per message, one transaction each
        mail.send_mail(f"Message {n}", f"Body of message {n}", "from@example.com", [f"user{n}@example.com"])

    received = smtp_server.wait_for(COUNT, timeout=90)
    wait_until(lambda: OutboundEmail.objects.filter(status="sent").count() == COUNT, "every row recorded as sent")
    by_recipient = {}
    for record in received:
        by_recipient.setdefault(record["rcpt_tos"][0], []).append(record["message"])
    assert sorted(by_recipient) == sorted(f"user{n}@example.com" for n in range(COUNT))
    for address, messages in by_recipient.items():
        n = address.removeprefix("user").removesuffix("@example.com")
        assert len(messages) == 1, f"{address} received {len(messages)} copies"
        assert messages[0]["Subject"] == f"Message {n}"
        assert messages[0].get_content().strip() == f"Body of message {n}"
    assert set(OutboundEmail.objects.values_list("attempts", flat=True)) == {1}, worker.log()
    assert len({record["peer"] for record in received}) > 1, "the sends should have overlapped"
