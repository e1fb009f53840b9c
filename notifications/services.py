"""The public helpers of the notifications app: render a template pair and send it through the outbox.

Other apps and projects import these names from here; the code lives in notifications/outbox/.
"""

from .outbox.idempotency import IdempotencyKeyReused
from .outbox.services import email_render, email_send, outbox_purge_address

__all__ = ["IdempotencyKeyReused", "email_render", "email_send", "outbox_purge_address"]
