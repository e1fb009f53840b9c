"""The dev mailbox's JSON API (list, message, raw, delete) in the OpenAPI document under DEBUG
only, and its live updates as a bounded Server-Sent Events stream with a heartbeat."""

import email
import email.policy

import pytest
from django.test import override_settings
from django.urls import reverse

from notifications.models import OutboundEmail

from .test_mailbox_message import png, send_with_attachments

pytestmark = pytest.mark.django_db
API = "/api/v1/dev/mailbox/messages"


@override_settings(DEBUG=True)
def test_the_api_lists_reads_gives_the_raw_source_and_deletes(client):
    older, row = send_with_attachments(), send_with_attachments()

    listed = client.get(API)
    assert listed.status_code == 200
    body = listed.json()
    assert body["count"] == 2 and [m["id"] for m in body["results"]] == [row.pk, older.pk]
    assert body["results"][0] | {"created_at": None} == {
        "id": row.pk,
        "created_at": None,
        "recipients": "ada@example.com",
        "subject": "Invoice",
        "status": "queued",
        "read": False,
    }

    message = client.get(f"{API}/{row.pk}").json()
    headers = {h["name"]: h["value"] for h in message["headers"]}
    assert headers["MIME-Version"] == "1.0" and headers["Content-Type"].startswith("multipart/mixed")
    assert message["read"] is True and message["text"] == "See attached."
    assert "<h1" in message["html"]
    chart = next(a for a in message["attachments"] if a["filename"] == "chart.png")
    assert chart["content_type"] == "image/png" and chart["size"] == len(png())
    assert client.get(chart["url"]).content == png()
    assert [m["read"] for m in client.get(API).json()["results"]] == [True, False]

    raw = client.get(f"{API}/{row.pk}/raw")
    assert raw["Content-Type"] == "message/rfc822"
    parsed = email.message_from_bytes(raw.content, policy=email.policy.default)
    assert parsed["Subject"] == "Invoice" and parsed["Message-ID"] == headers["Message-ID"]

    assert client.delete(f"{API}/{row.pk}").status_code == 204
    assert list(OutboundEmail.objects.values_list("pk", flat=True)) == [older.pk]
    assert client.delete(f"{API}/{row.pk}").status_code == 404
    gone = client.get(f"{API}/{row.pk}")
    assert gone.status_code == 404 and gone["Content-Type"] == "application/problem+json"
    assert client.get(API, {"page": 9}).status_code == 404
    assert client.get(API, {"page": "x"}).status_code in (400, 422)


def test_the_api_is_a_404_and_out_of_the_openapi_document_without_debug(client):
    row = send_with_attachments()
    for response in (client.get(API), client.get(f"{API}/{row.pk}"), client.get(f"{API}/{row.pk}/raw")):
        assert response.status_code == 404
    assert client.delete(f"{API}/{row.pk}").status_code == 404
    assert OutboundEmail.objects.filter(pk=row.pk).exists()
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert not [path for path in paths if "/dev/mailbox/" in path]


@override_settings(DEBUG=True)
def test_the_openapi_document_has_the_mailbox_api_under_debug(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert set(paths[API]) == {"get"}
    assert set(paths[API + "/{message_id}"]) == {"get", "delete"}
    assert "message/rfc822" in paths[API + "/{message_id}/raw"]["get"]["responses"]["200"]["content"]


def events(chunks):
    """The (event, data) pairs of SSE chunks; a comment line is ("", comment)."""
    found = []
    for chunk in chunks:
        text = chunk.decode() if isinstance(chunk, bytes) else chunk
        for block in filter(None, text.split("\n\n")):
            lines = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(("retry", ":")))
            if block.startswith(":"):
                found.append(("", block[2:]))
            else:
                found.append((lines["event"], lines["data"]))
    return found


@override_settings(DEBUG=True, NOTIFICATIONS_MAILBOX_STREAM_SECONDS=600, NOTIFICATIONS_MAILBOX_STREAM_INTERVAL=0.05)
def test_the_stream_pushes_an_event_when_mail_arrives(client):
    response = client.get(reverse("notifications:mailbox-events"))
    assert response["Content-Type"] == "text/event-stream" and response["Cache-Control"] == "no-cache"
    chunks = iter(response.streaming_content)

    first = next(chunks).decode()
    assert first.startswith("retry: ")
    (name, state), = events([first])
    assert name == "state"
    page = client.get(reverse("notifications:mailbox")).content.decode()
    assert f"data-state={state}" in page.replace("&quot;", "")  # the page starts from the same state

    row = send_with_attachments()
    name, changed = events([next(chunks)])[0]
    assert name == "mailbox" and changed != state

    client.get(reverse("notifications:mailbox-detail", args=[row.pk]))  # read: the list's bold goes
    name, read = events([next(chunks)])[0]
    assert name == "mailbox" and read != changed
    response.close()


@override_settings(
    DEBUG=True,
    NOTIFICATIONS_MAILBOX_STREAM_SECONDS=0.5,
    NOTIFICATIONS_MAILBOX_HEARTBEAT=0.1,
    NOTIFICATIONS_MAILBOX_STREAM_INTERVAL=0.05,
)
def test_the_stream_ends_by_itself_with_heartbeats_on_the_way(client):
    found = events(client.get(reverse("notifications:mailbox-events")).streaming_content)
    assert found[0][0] == "state" and found[-1][0] == "bye"
    assert ("", "heartbeat") in found


def test_the_stream_is_a_404_without_debug(client):
    assert client.get(reverse("notifications:mailbox-events")).status_code == 404
