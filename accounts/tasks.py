"""Celery tasks of the accounts app: thin, they call a service."""

from celery import shared_task


@shared_task(ignore_result=True)
def unconfirmed_prune():
    from .services import unconfirmed_prune as prune

    return prune()
