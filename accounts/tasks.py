"""Celery tasks of the accounts app: thin, they call a service."""

from celery import shared_task


@shared_task(ignore_result=True)
def unconfirmed_prune():
    from .services import unconfirmed_prune as prune

    return prune()


@shared_task(ignore_result=True)
def intent_process(intent_id):
    from .intents import intent_process as process

    return process(intent_id=intent_id)


@shared_task(ignore_result=True)
def intents_sweep():
    from .intents import intents_sweep as sweep

    return sweep()
