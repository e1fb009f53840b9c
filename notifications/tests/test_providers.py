"""Amazon SES and Mailgun through Anymail's real backends, driven by a real worker process whose
settings come from the environment (EMAIL_PROVIDER=ses / mailgun), against loopback endpoints:
moto's server mode for SES and a small HTTP server that speaks Mailgun's messages API."""

import json
import threading
import urllib.parse
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from django.core import mail

from notifications.models import OutboundEmail
from testing.fixtures import free_port

from .helpers import wait_status

AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def send_one(**kwargs):
    message = mail.EmailMultiAlternatives(
        "Your receipt",
        "Plain body",
        "Shop <shop@example.com>",
        ["buyer@example.com"],
        **kwargs,
    )
    message.attach_alternative("<p>HTML body</p>", "text/html")
    message.tags = ["receipt"]
    message.metadata = {"order": "42"}
    message.send()
    return OutboundEmail.objects.get(subject="Your receipt")


# ------------------------------------------------------------------------------------------------
# Amazon SES (moto in server mode)
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def ses_server():
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.server import ThreadedMotoServer
    from moto.ses.models import ses_backends

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    ses = boto3.client(
        "ses",
        endpoint_url=url,
        region_name=AWS["AWS_DEFAULT_REGION"],
        aws_access_key_id=AWS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS["AWS_SECRET_ACCESS_KEY"],
    )
    ses.verify_email_identity(EmailAddress="shop@example.com")
    backend = ses_backends[DEFAULT_ACCOUNT_ID][AWS["AWS_DEFAULT_REGION"]]
    yield url, backend
    server.stop()
    backend.reset()


def test_ses_delivery_through_anymail_and_moto(worker_factory, ses_server):
    url, backend = ses_server
    worker = worker_factory(EMAIL_PROVIDER="ses", AMAZON_SES_ENDPOINT_URL=url, **AWS)

    row = wait_status(send_one().pk, "sent")

    assert len(backend.sent_messages) == 1, worker.log()
    sent = backend.sent_messages[0]
    received = message_from_bytes(sent.raw_data.encode(), policy=policy.default)
    assert received["Subject"] == "Your receipt"
    assert received["To"] == "buyer@example.com"
    assert "shop@example.com" in received["From"]
    assert received.get_body(("plain",)).get_content().strip() == "Plain body"
    assert received.get_body(("html",)).get_content().strip() == "<p>HTML body</p>"
    assert row.provider_message_id == sent.id
    assert row.provider == "transport-ses"


def test_ses_refusal_of_an_unverified_sender_fails_without_retry(worker_factory, ses_server):
    url, backend = ses_server
    worker_factory(EMAIL_PROVIDER="ses", AMAZON_SES_ENDPOINT_URL=url, **AWS)
    mail.send_mail("Unverified", "Body", "stranger@example.org", ["buyer@example.com"])

    row = wait_status(OutboundEmail.objects.get().pk, "failed")

    assert row.attempts == 1
    assert "MessageRejected" in row.last_error and "stranger@example.org" in row.last_error
    assert backend.sent_messages == []


# ------------------------------------------------------------------------------------------------
# Mailgun (a local server speaking its messages API)
# ------------------------------------------------------------------------------------------------
class MailgunAPI(ThreadingHTTPServer):
    """POST /v3/<domain>/messages. `statuses` scripts the answers (then 200 for ever); every
    request is kept in `requests` as (path, authorization, {field: [values]})."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), MailgunHandler)
        self.statuses = []
        self.requests = []
        self.accepted = []

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/v3"


class MailgunHandler(BaseHTTPRequestHandler):
    def log_message(self, format, *args):  # keep the test output quiet
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        fields = self._fields(self.headers["Content-Type"], body)
        self.server.requests.append((self.path, self.headers["Authorization"], fields))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        if status == 200:
            message_id = f"<{len(self.server.requests)}.mailgun@mg.example.com>"
            self.server.accepted.append(fields)
            answer = {"id": message_id, "message": "Queued. Thank you."}
        else:
            answer = {"message": f"scripted failure {status}"}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    @staticmethod
    def _fields(content_type, body):
        fields = {}
        if content_type.startswith("multipart/form-data"):
            form = message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body, policy=policy.HTTP)
            for part in form.iter_parts():
                name = part.get_param("name", header="content-disposition")
                value = part.get_payload(decode=True).decode()
                fields.setdefault(name, []).append(value)
        else:
            for name, value in urllib.parse.parse_qsl(body.decode()):
                fields.setdefault(name, []).append(value)
        return fields


@pytest.fixture
def mailgun_api():
    server = MailgunAPI()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def mailgun_worker(worker_factory, api):
    return worker_factory(
        EMAIL_PROVIDER="mailgun",
        MAILGUN_API_KEY="key-test",
        MAILGUN_SENDER_DOMAIN="mg.example.com",
        MAILGUN_API_URL=api.url,
    )


def test_mailgun_delivery_posts_the_message_fields(worker_factory, mailgun_api):
    worker = mailgun_worker(worker_factory, mailgun_api)

    row = wait_status(send_one(cc=["boss@example.com"], headers={"X-Order": "42"}).pk, "sent")

    assert len(mailgun_api.requests) == 1, worker.log()
    path, authorization, fields = mailgun_api.requests[0]
    assert path == "/v3/mg.example.com/messages"
    assert authorization.startswith("Basic ")
    assert fields["from"] == ["Shop <shop@example.com>"]
    assert fields["to"] == ["buyer@example.com"]
    assert fields["cc"] == ["boss@example.com"]
    assert fields["subject"] == ["Your receipt"]
    assert fields["text"] == ["Plain body"]
    assert fields["html"] == ["<p>HTML body</p>"]
    assert fields["h:X-Order"] == ["42"]
    assert fields["o:tag"] == ["receipt"]
    assert fields["v:order"] == ["42"]
    assert row.provider_message_id == "<1.mailgun@mg.example.com>"


def test_mailgun_429_and_5xx_are_retried(worker_factory, mailgun_api):
    mailgun_api.statuses = [429, 503]
    mailgun_worker(worker_factory, mailgun_api)

    row = wait_status(send_one().pk, "sent")

    assert len(mailgun_api.requests) == 3
    assert len(mailgun_api.accepted) == 1
    assert row.attempts == 3
    assert row.provider_message_id == "<3.mailgun@mg.example.com>"


def test_mailgun_4xx_rejection_fails_without_retry(worker_factory, mailgun_api):
    mailgun_api.statuses = [400]
    worker = mailgun_worker(worker_factory, mailgun_api)

    row = wait_status(send_one().pk, "failed")

    assert row.attempts == 1, worker.log()
    assert "400" in row.last_error and "scripted failure 400" in row.last_error
    assert len(mailgun_api.requests) == 1
