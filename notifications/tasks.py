"""Celery tasks of the notifications app: thin, they take ids and call a service."""

from celery import shared_task

from . import delivery, services


@shared_task(ignore_result=True)
def outbox_deliver(ids):
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ValueError("outbox_deliver takes a list of OutboundEmail ids")
    delivery.deliver_many(ids)


@shared_task(ignore_result=True)
def outbox_sweep():
    return services.outbox_sweep()


@shared_task(ignore_result=True)
def follower_alerts_process(recipient_id):
    from .follows import follower_alerts_process as process

    process(recipient_id=int(recipient_id))


@shared_task(ignore_result=True)
def follower_alerts_sweep():
    from .follows import follower_alerts_sweep as sweep

    return sweep()


@shared_task(ignore_result=True)
def follower_alert_items_prune():
    from .follows import follower_alert_items_prune as prune

    return prune()
