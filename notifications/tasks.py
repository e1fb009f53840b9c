"""Celery tasks of the notifications app: thin, they take ids and call a service.

The periodic ones (sweeps, prunes) and the follower digests store their results
(django-celery-results: the admin's "Task results"), so an operator sees what each run did.
Delivery does not: one row per chunk of mail would grow the table with the traffic."""

from celery import shared_task

from .follows import services as follows
from .ops import rollup
from .outbox import delivery, doorbell, services
from .tracking import services as tracking


def _is_id(value):
    return isinstance(value, int) and not isinstance(value, bool)


@shared_task(ignore_result=True)
def outbox_drain(category):
    """The doorbell's task: deliver due rows of `category` (see delivery.deliver_due)."""
    if not isinstance(category, str) or category not in doorbell.QUEUES:
        raise ValueError("outbox_drain takes a category: 'urgent' or 'bulk'")
    doorbell.answered(category)
    delivery.deliver_due(category)


@shared_task(ignore_result=True)
def outbox_deliver(ids):
    """Tasks published before the doorbell carried ids: they deliver those rows."""
    if not isinstance(ids, list) or not all(_is_id(i) for i in ids):
        raise ValueError("outbox_deliver takes a list of OutboundEmail ids")
    delivery.deliver_many(ids)


@shared_task(ignore_result=False)
def outbox_sweep():
    return services.outbox_sweep()


@shared_task(ignore_result=False)
def delivery_rollup():
    """Sum the dashboard's closed hours (see ops/rollup.py)."""
    return rollup.delivery_rollup()


@shared_task(ignore_result=False)
def follower_alerts_process(recipient_id):
    if not _is_id(recipient_id):
        raise ValueError("follower_alerts_process takes a user id")
    alert = follows.follower_alerts_process(recipient_id=recipient_id)
    return {"recipient_id": recipient_id, "alert_sent": alert is not None}


@shared_task(ignore_result=False)
def follower_alerts_sweep():
    return follows.follower_alerts_sweep()


@shared_task(ignore_result=False)
def follower_alert_items_prune():
    return follows.follower_alert_items_prune()


@shared_task(ignore_result=False)
def webhook_tokens_prune():
    return tracking.webhook_tokens_prune()
