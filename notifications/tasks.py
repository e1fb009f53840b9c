"""Celery tasks of the notifications app: thin, they take ids and call a service."""

from celery import shared_task

from .outbox import delivery, doorbell, services


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


@shared_task(ignore_result=True)
def outbox_sweep():
    return services.outbox_sweep()


@shared_task(ignore_result=True)
def follower_alerts_process(recipient_id):
    from .follows.services import follower_alerts_process as process

    if not _is_id(recipient_id):
        raise ValueError("follower_alerts_process takes a user id")
    process(recipient_id=recipient_id)


@shared_task(ignore_result=True)
def follower_alerts_sweep():
    from .follows.services import follower_alerts_sweep as sweep

    return sweep()


@shared_task(ignore_result=True)
def follower_alert_items_prune():
    from .follows.services import follower_alert_items_prune as prune

    return prune()


@shared_task(ignore_result=True)
def webhook_tokens_prune():
    from .tracking.services import webhook_tokens_prune as prune

    return prune()
