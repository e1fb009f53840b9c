"""What the benchmarks send: messages the size of a real alert, outbox rows, a TLS certificate."""

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

TEXT = (
    "Hello {n},\n\n"
    "Someone you follow on mailsite has news for you. This message stands in for a follower alert\n"
    "or a digest: a few paragraphs of text, a link and an unsubscribe footer.\n\n"
) + "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. " * 8
HTML = (
    '<!doctype html><html><body style="margin:0;padding:0;background:#f6f7fb;font-family:system-ui">'
    '<table role="presentation" width="100%"><tr><td style="padding:24px 28px;font-size:16px">'
    "<p>Hello {n},</p><p>Someone you follow on mailsite has news for you.</p>"
    + "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.</p>" * 12
    + '<p><a href="https://mail.example.com/unsubscribe/abc">Unsubscribe</a></p></td></tr></table></body></html>'
)


def messages_build(count, *, prefix="bulk", category="bulk", sensitive=False, start=0):
    """`count` distinct alert-sized messages to <prefix>-<n>@bench.example."""
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives

    messages = []
    for n in range(start, start + count):
        message = EmailMultiAlternatives(
            f"News from mailsite #{n}",
            TEXT.format(n=n),
            settings.DEFAULT_FROM_EMAIL,
            [f"{prefix}-{n}@bench.example"],
            headers={"List-Unsubscribe": "<https://mail.example.com/unsubscribe/abc>"},
        )
        message.attach_alternative(HTML.format(n=n), "text/html")
        message.outbox_category = category
        message.outbox_sensitive = sensitive
        message.outbox_redact = [f"{n:06d}"] if sensitive else []
        message.outbox_template = "bench"
        messages.append(message)
    return messages


def rows_insert(messages, batch=2000):
    """Store messages as queued outbox rows without publishing tasks; returns {queue: [ids]}.
    The rows are made by the outbox backend itself; `services.outbox_enqueue` publishes them."""
    from django.db import transaction

    from notifications.backends import OutboxBackend
    from notifications.models import OutboundEmail
    from notifications.outbox.message import to_payload, validate

    backend = OutboxBackend()
    by_queue = {}
    for message in messages:
        validate(message)
    for start in range(0, len(messages), batch):
        rows = [backend._row(message, to_payload(message)) for message in messages[start : start + batch]]
        with transaction.atomic():
            OutboundEmail.objects.bulk_create(rows)
        for row in rows:
            by_queue.setdefault(row.queue, []).append(row.pk)
    return by_queue


def rows_enqueue(by_queue):
    from notifications.outbox.services import outbox_enqueue

    return outbox_enqueue(by_queue)


@dataclass
class Certificate:
    cert: Path
    key: Path


def certificate_create(workdir):
    """A self-signed certificate for localhost / 127.0.0.1, made for this run."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    paths = Certificate(Path(workdir) / "smtp-cert.pem", Path(workdir) / "smtp-key.pem")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths
