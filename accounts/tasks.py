"""Celery tasks of the accounts app: thin, they check their arguments and call a service."""

from celery import shared_task

from . import intents
from .flows import signup


@shared_task(ignore_result=True)
def unconfirmed_prune():
    return signup.unconfirmed_prune()


@shared_task(ignore_result=True)
def intent_process(intent_id):
    # A bool is an int, and 1.5 would be truncated by the lookup: only a real integer id.
    if not isinstance(intent_id, int) or isinstance(intent_id, bool):
        raise ValueError("intent_process takes an Intent id (an integer)")
    return intents.intent_process(intent_id=intent_id)


@shared_task(ignore_result=True)
def intents_sweep():
    return intents.intents_sweep()
