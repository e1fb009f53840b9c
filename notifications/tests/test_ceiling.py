"""The per-mailbox ceiling (notifications/outbox/ceiling.py): one budget per recipient for mail that
anyone could cause, kept where every flow passes, the outbox backend."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from notifications.models import OutboundEmail
from notifications.outbox.ceiling import NOTE
from notifications.services import email_send

Status = OutboundEmail.Status


def send(to="carol@example.com", unsolicited=True):
    return email_send(template="test_notice", to=to, context={"name": "Carol"}, unsolicited=unsolicited)


@pytest.fixture(autouse=True)
def a_template(settings, tmp_path):
    folder = tmp_path / "email" / "test_notice"
    folder.mkdir(parents=True)
    (folder / "subject.txt").write_text("Hello")
    (folder / "body.txt").write_text("Hello {{ name }}")
    (folder / "body.html").write_text("<p>Hello {{ name }}</p>")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]


@pytest.mark.django_db
def test_past_the_hourly_budget_unsolicited_mail_is_kept_as_an_audit_row_and_never_queued(settings):
    settings.NOTIFICATIONS_UNSOLICITED_PER_HOUR = 3
    for _ in range(5):
        send()
    rows = list(OutboundEmail.objects.order_by("pk").values_list("status", "last_error", "unsolicited"))
    assert [status for status, _error, _u in rows] == [Status.QUEUED] * 3 + [Status.SUPPRESSED] * 2
    assert rows[-1][1] == NOTE.format(limit=3, period="hour")
    assert all(unsolicited for _s, _e, unsolicited in rows)


@pytest.mark.django_db
def test_the_daily_budget_counts_mail_older_than_an_hour(settings):
    settings.NOTIFICATIONS_UNSOLICITED_PER_HOUR = 10
    settings.NOTIFICATIONS_UNSOLICITED_PER_DAY = 4
    for _ in range(3):
        send()
    OutboundEmail.objects.update(created_at=timezone.now() - timezone.timedelta(hours=5))
    send()
    send()
    assert list(OutboundEmail.objects.order_by("pk").values_list("status", flat=True))[-2:] == [
        Status.QUEUED,
        Status.SUPPRESSED,
    ]
    assert OutboundEmail.objects.order_by("pk").last().last_error == NOTE.format(limit=4, period="day")
    OutboundEmail.objects.update(created_at=timezone.now() - timezone.timedelta(days=2))
    send()  # a day later, the budget is back
    assert OutboundEmail.objects.order_by("pk").last().status == Status.QUEUED


@pytest.mark.django_db
def test_mail_a_person_asked_for_is_not_counted_nor_held(settings):
    settings.NOTIFICATIONS_UNSOLICITED_PER_HOUR = 2
    for _ in range(4):
        send(unsolicited=False)
    send()
    send()
    send()
    statuses = list(OutboundEmail.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == [Status.QUEUED] * 6 + [Status.SUPPRESSED]


@pytest.mark.django_db
def test_each_recipient_has_its_own_budget_and_zero_turns_it_off(settings):
    settings.NOTIFICATIONS_UNSOLICITED_PER_HOUR = 1
    send("carol@example.com")
    send("dave@example.com")
    send("carol@example.com")
    assert OutboundEmail.objects.filter(status=Status.SUPPRESSED).get().recipients == "carol@example.com"
    settings.NOTIFICATIONS_UNSOLICITED_PER_HOUR = 0
    settings.NOTIFICATIONS_UNSOLICITED_PER_DAY = 0
    send("carol@example.com")
    assert OutboundEmail.objects.order_by("pk").last().status == Status.QUEUED


@pytest.mark.django_db(transaction=True)
def test_parallel_senders_cannot_both_take_the_last_place(settings):
    from testing.fixtures import service_missing

    if connection.vendor != "postgresql":
        service_missing("the advisory lock needs PostgreSQL")
    settings.NOTIFICATIONS_UNSOLICITED_PER_HOUR = 5
    barrier = threading.Barrier(12)
    errors = []

    def one():
        try:
            barrier.wait()
            send()
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert OutboundEmail.objects.exclude(status=Status.SUPPRESSED).count() == 5
    assert OutboundEmail.objects.filter(status=Status.SUPPRESSED).count() == 7
