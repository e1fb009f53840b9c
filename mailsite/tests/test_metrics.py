"""/metrics: off without METRICS_TOKEN, bearer-only with it, and the numbers Prometheus reads,
including counters written by a real worker process in multiprocess mode."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from accounts.ratelimit import ratelimit_consume
from notifications.tests.helpers import wait_status

TOKEN = "scrape-token-0123456789"


def scrape(client, token=TOKEN):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def test_metrics_are_a_404_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", "Bearer", f"bearer {TOKEN}x"])
def test_metrics_need_the_bearer_token(client, settings, header):
    settings.METRICS_TOKEN = TOKEN
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_metrics_count_rows_deliveries_latency_and_refusals(client, settings, outbox, redis_cache):
    from django.core.mail import send_mail

    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_MULTIPROC_DIR = ""
    before = scrape(client)
    send_mail("Hi", "body", "s@example.com", ["ann@example.com"])
    assert value(scrape(client), "mailsite_outbox_rows", status="queued") == 1
    outbox.deliver()
    after = scrape(client)
    assert value(after, "mailsite_outbox_rows", status="sent") == 1
    assert value(after, "mailsite_outbox_rows", status="queued") == 0
    sent = ("mailsite_deliveries_total", {"provider": "transport", "outcome": "sent"})
    assert value(after, sent[0], **sent[1]) - value(before, sent[0], **sent[1]) == 1
    count = ("mailsite_delivery_latency_seconds_count", {"provider": "transport"})
    assert value(after, count[0], **count[1]) - value(before, count[0], **count[1]) == 1

    settings.ACCOUNTS_RATE_LIMITS = {"code_send": "1/m/key"}
    ratelimit_consume(action="code_send", key="a@example.com")
    ratelimit_consume(action="code_send", key="a@example.com")  # refused
    refused = scrape(client)
    assert (
        value(refused, "mailsite_ratelimit_refusals_total", action="code_send")
        - value(before, "mailsite_ratelimit_refusals_total", action="code_send")
        == 1
    )


def test_a_worker_process_counts_add_up_in_multiprocess_mode(client, settings, worker_factory, smtp_server, tmp_path):
    from django.core.mail import send_mail

    from notifications.models import OutboundEmail

    folder = tmp_path / "metrics"
    folder.mkdir()
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_MULTIPROC_DIR = str(folder)
    worker_factory(smtp_url=smtp_server.url, PROMETHEUS_MULTIPROC_DIR=str(folder))
    for number in range(3):
        send_mail(f"Hi {number}", "body", "s@example.com", [f"u{number}@example.com"])
    for row in OutboundEmail.objects.all():
        wait_status(row.pk, "sent")
    samples = scrape(client)
    assert value(samples, "mailsite_deliveries_total", provider="transport-smtp", outcome="sent") == 3
    assert value(samples, "mailsite_delivery_latency_seconds_count", provider="transport-smtp") == 3
    assert any(path.name.startswith("counter_") for path in folder.iterdir())
