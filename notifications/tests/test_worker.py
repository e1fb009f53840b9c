"""The whole path with real parts: outbox row -> Redis broker -> celery worker process -> SMTP."""

from django.core import mail

from notifications.models import OutboundEmail

from .helpers import wait_log, wait_status


def test_worker_delivers_send_mail_to_smtp(worker_factory, smtp_server):
    worker = worker_factory(smtp_url=smtp_server.url)
    mail.send_mail("Hello", "Body text", "from@example.com", ["to@example.com"])
    row = OutboundEmail.objects.get()
    delivered = wait_status(row.pk, "sent")
    received = smtp_server.wait_for(1)
    assert received[0]["rcpt_tos"] == ["to@example.com"]
    assert received[0]["message"]["Subject"] == "Hello"
    assert delivered.provider == "transport-smtp" and delivered.attempts == 1, worker.log()


def test_many_rows_in_one_task_share_one_smtp_connection(worker_factory, smtp_server):
    worker = worker_factory(smtp_url=smtp_server.url)
    batch = [(f"Alert {n}", "Body", "from@example.com", [f"user{n}@example.com"]) for n in range(6)]

    assert mail.send_mass_mail(batch) == 6  # one send_messages() call: one delivery task

    received = smtp_server.wait_for(6)
    for row in OutboundEmail.objects.all():
        wait_status(row.pk, "sent")
    wait_log(worker, "succeeded")
    assert worker.log_path.read_text().count("outbox_drain[") == 2  # received and succeeded: one task
    assert sorted(m["message"]["Subject"] for m in received) == [f"Alert {n}" for n in range(6)]
    assert len({m["peer"] for m in received}) == 1
    assert smtp_server.handler.ehlo == 1


def test_a_row_locked_at_claim_time_is_tried_again_soon_not_left_for_the_sweeper(worker_factory, smtp_server):
    """A worker's claim skips rows another transaction has locked (SKIP LOCKED, so chunks never
    deadlock). Such a row must not wait for the sweeper: the worker schedules it again."""
    from django.db import transaction

    from notifications.outbox import doorbell

    worker = worker_factory(smtp_url=smtp_server.url)
    with transaction.atomic():
        mail.send_mail("Locked", "Body", "from@example.com", ["held@example.com"])
    row = OutboundEmail.objects.get()
    smtp_server.wait_for(1)  # the normal path first, to have a warm worker
    wait_status(row.pk, "sent")  # its outcome written, so the worker holds no lock on the row
    OutboundEmail.objects.filter(pk=row.pk).update(status="queued", attempts=0)

    with transaction.atomic():
        OutboundEmail.objects.select_for_update().get(pk=row.pk)  # someone else's UPDATE in flight
        doorbell.ring("urgent")
        wait_log(worker, "were locked at claim time")
    # The lock is gone; the worker's own wake-up in 1 s (not the sweeper: beat is not running) sends it.
    assert wait_status(row.pk, "sent").attempts == 1
    assert len(smtp_server.wait_for(2)) == 2
