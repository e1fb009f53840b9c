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
