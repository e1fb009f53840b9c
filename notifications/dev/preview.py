"""What an outbox row looks like to its recipient: subject, text, HTML and headers."""

import json
from dataclasses import dataclass, field

from ..outbox import crypto


@dataclass
class Preview:
    subject: str
    text: str
    html: str
    headers: dict = field(default_factory=dict)
    recipients: str = ""
    readable: bool = True


def outbound_payload(email):
    """The row's stored message (decrypted), or None when no configured key opens it."""
    try:
        return json.loads(crypto.decrypt(email.payload_encrypted)) if email.payload_encrypted else email.payload
    except ValueError:
        return None


def outbound_preview(email):
    payload = outbound_payload(email)
    if payload is None:
        return Preview(email.subject, "(encrypted with a key that is no longer configured)", "", readable=False)
    html = next((c for c, mimetype in payload.get("alternatives", []) if mimetype == "text/html"), "")
    headers = {
        "From": payload.get("from_email", ""),
        "To": ", ".join(payload.get("to", [])),
        **({"Cc": ", ".join(payload["cc"])} if payload.get("cc") else {}),
        **({"Reply-To": ", ".join(payload["reply_to"])} if payload.get("reply_to") else {}),
        "Subject": payload.get("subject", email.subject),
        **payload.get("headers", {}),
    }
    return Preview(payload.get("subject", email.subject), payload.get("body", ""), html, headers, email.recipients)
