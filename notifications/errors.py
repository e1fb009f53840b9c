"""The notifications app's errors, under one base class.

Each error is defined beside the code that raises it and derives from NotificationsError:
  outbox.message.InvalidMessage    a message the outbox refuses (also a ValueError)
  outbox.transport.Permanent       a provider refused a message for good: no retry
  tracking.webhooks.Malformed      a webhook payload that cannot be read
  follows.services.FollowError     a follow the rules refuse (also a ValueError)
"""


class NotificationsError(Exception):
    """Base class of every error the notifications app raises on purpose."""
