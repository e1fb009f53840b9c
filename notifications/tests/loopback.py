"""Loopback stand-ins for providers' HTTP APIs, and provider-shaped webhook posts.

LoopbackHTTP records every request and answers through a `reply(request)` function.
mailgun_api() speaks enough of Mailgun's messages API for Anymail's Mailgun backend; sns_api()
answers SNS's ConfirmSubscription (the call Anymail makes to confirm an SES webhook's topic).
The *_post() helpers build webhook bodies the way Mailgun and Amazon SNS send them; SNSSigner
signs SNS messages as Amazon does, with a certificate of the test's own served over HTTPS.
"""

import atexit
import base64
import hashlib
import hmac
import json
import ssl
import tempfile
import threading
import time
import urllib.parse
import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

MAILGUN_DOMAIN = "mg.example.com"
MAILGUN_SIGNING_KEY = "mailgun-signing-key"
WEBHOOK_SECRET = "hooks:correct-horse"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:ses-events"


class LoopbackHTTP:
    def __init__(self, reply):
        self.reply = reply
        self.requests = []
        self.script = []  # (status, body) replies to use first, in order
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = {"path": self.path, "headers": dict(self.headers), "body": body, "at": time.monotonic()}
                with server._lock:
                    server.requests.append(request)
                    scripted = server.script.pop(0) if server.script else None
                status, content_type, payload = scripted or server.reply(request)
                data = payload.encode() if isinstance(payload, str) else payload
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


# ------------------------------------------------------------------------------------------------
# Mailgun
# ------------------------------------------------------------------------------------------------
def _mailgun_reply(request):
    return 200, "application/json", json.dumps({"id": f"<{uuid.uuid4().hex}@{MAILGUN_DOMAIN}>", "message": "Queued."})


def mailgun_api():
    return LoopbackHTTP(_mailgun_reply)


def mailgun_error(status, message):
    return status, "application/json", json.dumps({"message": message})


def mailgun_form(request):
    """The fields of a post to Mailgun's messages API (form-encoded, or multipart with files)."""
    if request["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded"):
        return urllib.parse.parse_qs(request["body"].decode())
    head = f"Content-Type: {request['headers']['Content-Type']}\r\n\r\n".encode()
    parsed = message_from_bytes(head + request["body"], policy=policy.default)
    fields = {}
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields.setdefault(name, []).append(part.get_content())
    return fields


def mailgun_transport(server):
    return {
        "BACKEND": "anymail.backends.mailgun.EmailBackend",
        "OPTIONS": {"api_key": "key-test", "sender_domain": MAILGUN_DOMAIN, "api_url": f"{server.url}/v3"},
    }


def mailgun_event(event, recipient, message_id, *, severity=None, reason=None, code=None, text="", when=None):
    """A Mailgun webhook body (JSON, "event-data" plus a signature block), before signing."""
    data = {
        "event": event,
        "id": uuid.uuid4().hex[:22],
        "timestamp": when if when is not None else time.time(),
        "recipient": recipient,
        "message": {"headers": {"message-id": message_id.strip("<>"), "to": recipient, "subject": "Hi"}},
        "tags": [],
        "user-variables": {},
    }
    if severity:
        data["severity"] = severity
    if reason:
        data["reason"] = reason
    if code is not None:
        data["delivery-status"] = {"code": code, "message": text, "description": ""}
    return {"event-data": data}


def mailgun_signed(body, key=MAILGUN_SIGNING_KEY, token=None, timestamp=None):
    """`body` with a signature block as Mailgun signs it: HMAC-SHA256 of timestamp + token."""
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    token = token or uuid.uuid4().hex + uuid.uuid4().hex[:18]
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {**body, "signature": {"timestamp": timestamp, "token": token, "signature": signature}}


# ------------------------------------------------------------------------------------------------
# Amazon SES through SNS
# ------------------------------------------------------------------------------------------------
def _sns_reply(request):
    form = urllib.parse.parse_qs(request["body"].decode())
    if form.get("Action") != ["ConfirmSubscription"]:
        return 400, "text/xml", "<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>"
    arn = f"{form['TopicArn'][0]}:{uuid.uuid4()}"
    return (
        200,
        "text/xml",
        '<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
        f"<ConfirmSubscriptionResult><SubscriptionArn>{arn}</SubscriptionArn></ConfirmSubscriptionResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</ConfirmSubscriptionResponse>",
    )


def sns_api():
    return LoopbackHTTP(_sns_reply)


def sns_client_params(server):
    """ANYMAIL["AMAZON_SES_CLIENT_PARAMS"] that send Anymail's SNS calls to the loopback server."""
    return {"endpoint_url": server.url, "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _signing_cert(key, *, days=30, start=None):
    """A self-signed X.509 certificate for `key`, named as Amazon's SNS signing certificates are."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    start = start or datetime.now(UTC) - timedelta(days=1)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )


class SNSSigner:
    """Signs SNS messages as Amazon does, with an RSA key of the test's own whose certificate is
    served over HTTPS on loopback by a server whose TLS certificate a test CA (trustme) issued.
    `settings` are what a test overrides so that mailsite trusts this host and that CA."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ca = trustme.CA()
        self.dir = Path(tempfile.mkdtemp(prefix="sns-"))
        self.ca_file = self.dir / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        pem = _signing_cert(self.key).public_bytes(serialization.Encoding.PEM)
        self.files = {"/SimpleNotificationService-test.pem": pem}
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.fetches = []
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        atexit.register(self.httpd.shutdown)

    def _handler(self):
        signer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                signer.fetches.append(self.path)
                data = signer.files.get(self.path)
                self.send_response(200 if data is not None else 404)
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

            def log_message(self, *args):
                pass

        return Handler

    @property
    def port(self):
        return self.httpd.server_address[1]

    def url(self, path="/SimpleNotificationService-test.pem", host="localhost"):
        return f"https://{host}:{self.port}{path}"

    @property
    def settings(self):
        return {"NOTIFICATIONS_SNS_CERT_HOSTS": ["localhost"], "NOTIFICATIONS_SNS_CERT_CA_FILE": str(self.ca_file)}

    def sign(self, message, *, version="1", key=None, cert_url=None):
        """`message` with SignatureVersion, SigningCertURL and Signature over its canonical string."""
        from notifications.tracking.sns import canonical_string

        message = {**message, "SignatureVersion": version, "SigningCertURL": cert_url or self.url()}
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = (key or self.key).sign(canonical_string(message), padding.PKCS1v15(), algorithm)
        message["Signature"] = base64.b64encode(signature).decode()
        return message


_signer = None


def sns_signer():
    """The test session's one SNSSigner, started on first use."""
    global _signer
    if _signer is None:
        _signer = SNSSigner()
    return _signer


def sns_timestamp(at=None):
    return (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def sns_headers(message):
    return {
        "HTTP_X_AMZ_SNS_MESSAGE_TYPE": message["Type"],
        "HTTP_X_AMZ_SNS_MESSAGE_ID": message["MessageId"],
        "HTTP_X_AMZ_SNS_TOPIC_ARN": message["TopicArn"],
        "HTTP_USER_AGENT": "Amazon Simple Notification Service Agent",
    }


def sns_message(kind, **fields):
    """An SNS message as Amazon posts it, before signing."""
    return {
        "Type": kind,
        "MessageId": str(uuid.uuid4()),
        "TopicArn": TOPIC_ARN,
        "Timestamp": sns_timestamp(),
        **fields,
    }


def sns_post(message):
    """(body, headers) of a post of `message`, as the test client takes them."""
    return json.dumps(message), sns_headers(message)


def _sns_envelope(kind, **fields):
    return sns_post(sns_signer().sign(sns_message(kind, **fields)))


def sns_subscription_confirmation(token="2336412f37fb687f5d51e6e2425dacbba9e0e8b5a2f4b9b4"):
    query = urllib.parse.urlencode({"Action": "ConfirmSubscription", "TopicArn": TOPIC_ARN, "Token": token})
    return _sns_envelope(
        "SubscriptionConfirmation",
        Token=token,
        Message=f"You have chosen to subscribe to the topic {TOPIC_ARN}.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message.",
        SubscribeURL=f"https://sns.us-east-1.amazonaws.com/?{query}",
    )


def _ses_mail(message_id, recipients):
    return {
        "timestamp": "2026-01-27T14:59:38.237Z",
        "source": "noreply@example.com",
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
        "sendingAccountId": "123456789012",
        "messageId": message_id,
        "destination": recipients,
        "headersTruncated": False,
    }


def ses_bounce(message_id, recipient, *, bounce_type="Permanent", sub_type="General"):
    notification = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": sub_type,
            "bouncedRecipients": [
                {
                    "emailAddress": recipient,
                    "action": "failed",
                    "status": "5.1.1" if bounce_type == "Permanent" else "4.2.2",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown"
                    if bounce_type == "Permanent"
                    else "smtp; 452 4.2.2 mailbox full",
                }
            ],
            "timestamp": "2026-01-27T14:59:38.237Z",
            "feedbackId": f"{uuid.uuid4().hex}-000000",
            "reportingMTA": "dsn; a27-23.smtp-out.us-east-1.amazonses.com",
        },
        "mail": _ses_mail(message_id, [recipient]),
    }
    return _sns_envelope("Notification", Message=json.dumps(notification))


def ses_complaint(message_id, recipient):
    notification = {
        "notificationType": "Complaint",
        "complaint": {
            "userAgent": "AnyCompany Feedback Loop (V0.01)",
            "complainedRecipients": [{"emailAddress": recipient}],
            "complaintFeedbackType": "abuse",
            "arrivalDate": "2026-01-27T14:59:38.237Z",
            "timestamp": "2026-01-27T14:59:38.237Z",
            "feedbackId": f"{uuid.uuid4().hex}-000000",
        },
        "mail": _ses_mail(message_id, [recipient]),
    }
    return _sns_envelope("Notification", Message=json.dumps(notification))


def ses_delivery(message_id, recipient):
    notification = {
        "notificationType": "Delivery",
        "delivery": {
            "timestamp": "2026-01-27T14:59:39.000Z",
            "processingTimeMillis": 546,
            "recipients": [recipient],
            "smtpResponse": "250 ok:  Message 64111812 accepted",
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
        },
        "mail": _ses_mail(message_id, [recipient]),
    }
    return _sns_envelope("Notification", Message=json.dumps(notification))


def basic_auth(secret=WEBHOOK_SECRET):
    import base64

    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}
