"""Requests that must not reveal whether an address has an account: record now, carry out later.

A web request writes one Intent row (in a transaction of its own when the caller has none) and
publishes a task by name once that commits. The worker looks the account up, renders and queues
the mail. Both steps cost the same for every address, so response times tell nobody which
addresses have accounts (README, Security).

Nothing is lost when the broker is down: the row stays, and `intents_sweep` (a beat task) carries
out every row still waiting after ACCOUNTS_INTENT_SWEEP_AFTER seconds.
"""

import logging
from datetime import timedelta
from functools import partial

from celery import current_app
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .conf import settings
from .models import Intent

logger = logging.getLogger(__name__)

TASK = "accounts.tasks.intent_process"
SWEEP_BATCH = 500

# What carries out each kind: a service called with the row's email and data as keyword arguments.
HANDLERS = {
    Intent.Kind.SIGNUP: "accounts.flows.signup.signup_process",
    Intent.Kind.RESET: "accounts.flows.password_reset.password_reset_process",
    Intent.Kind.RESEND: "accounts.flows.email_verification.confirmation_resend_process",
    Intent.Kind.CODE: "accounts.flows.code_verification.code_send_process",
}


def intent_record(*, kind, email, **data):
    """Record a request for the worker and publish its task once the row is committed."""
    with transaction.atomic():
        intent = Intent.objects.create(kind=kind, email=email, data=data)
    if settings.ACCOUNTS_INTENTS_INLINE:
        intent_process(intent_id=intent.pk)
    else:
        transaction.on_commit(partial(_publish, intent.pk), robust=True)
    return intent


def _publish(intent_id):
    # By name, so this module never imports tasks.py; a signature still honours task_always_eager.
    try:
        current_app.signature(TASK, args=[intent_id]).apply_async(
            queue=settings.ACCOUNTS_INTENT_QUEUE,
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2},
        )
    except Exception as error:  # broker down: the row waits for the sweeper
        logger.warning("intent %s: task not published, left for the sweeper: %s", intent_id, error)


def intent_process(*, intent_id):
    """Carry out one recorded request, exactly once: the row is locked, handled and deleted in one
    transaction. False if it is gone already or another worker holds it."""
    with transaction.atomic():
        intent = Intent.objects.select_for_update(skip_locked=True).filter(pk=intent_id).first()
        if intent is None:
            return False
        import_string(HANDLERS[intent.kind])(email=intent.email, **intent.data)
        intent.delete()
    return True


def intents_sweep(*, now=None):
    """Carry out requests whose task never ran; drop those too old to matter. Returns how many
    were carried out."""
    now = now or timezone.now()
    expired = Intent.objects.filter(created_at__lt=now - timedelta(seconds=settings.ACCOUNTS_INTENT_MAX_AGE))
    dropped = expired.delete()[0]
    if dropped:
        logger.warning("intents sweep: dropped %d request(s) never carried out", dropped)
    waiting = Intent.objects.filter(created_at__lte=now - timedelta(seconds=settings.ACCOUNTS_INTENT_SWEEP_AFTER))
    done = 0
    for intent_id in list(waiting.order_by("pk").values_list("pk", flat=True)[:SWEEP_BATCH]):
        try:
            done += intent_process(intent_id=intent_id)
        except Exception:  # one bad row must not hold up the others; it is retried next sweep
            logger.exception("intents sweep: request %s failed", intent_id)
    if done:
        logger.info("intents sweep: carried out %d request(s)", done)
    return done
