"""The doorbell: telling workers "there is mail of this category" without a task per message.

ring() publishes one delivery task for a category only if none is already waiting: a Redis key
(SET NX with a TTL of NOTIFICATIONS_DOORBELL_TTL seconds) marks a task as published and not yet
started. A delivery task deletes the key when it starts, before it claims, so a row committed
after that rings again, and a row committed before it is seen by that claim. Either way no row is
left without a task to claim it. If a task is lost (a broker that drops it), the key expires and
the next send rings again; the sweeper is the backstop for the rows in between.

Without Redis (the embedded defaults) there is no shared key: each ring publishes a task, which
is still one task per transaction, not one per message.
"""

import logging
import math

from celery import current_app

from ..conf import settings
from ..models import OutboundEmail
from ..redis_client import redis_client

logger = logging.getLogger(__name__)
QUEUES = {OutboundEmail.Category.URGENT: "email-urgent", OutboundEmail.Category.BULK: "email-bulk"}


def _redis():
    return redis_client()


def _key(category):
    return f"mailsite:notifications:doorbell:{category}"


def _armed(category):
    """True when this caller should publish: no task of the category is waiting."""
    client = _redis()
    if client is None:
        return True
    try:
        return bool(client.set(_key(category), "1", nx=True, px=int(settings.NOTIFICATIONS_DOORBELL_TTL * 1000)))
    except Exception as error:  # Redis down: ring anyway, a spare task costs one empty claim
        logger.warning("outbox: doorbell key unavailable (%s); publishing anyway", error)
        return True


def answered(category):
    """A delivery task starts: the next row committed must ring again."""
    client = _redis()
    if client is not None:
        try:
            client.delete(_key(category))
        except Exception as error:
            logger.warning("outbox: could not reset the doorbell (%s)", error)


def _publish(category, countdown=None):
    # By name, so the outbox never imports tasks.py; a signature still honours task_always_eager.
    options = {"retry": True, "retry_policy": {"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2}}
    drain = current_app.signature("notifications.tasks.outbox_drain", args=[category])
    drain.apply_async(queue=QUEUES[category], countdown=countdown, **options)


def ring(category, count=1):
    """Wake a worker for `category` (`count` tasks: a full chunk wakes several idle threads at
    once) unless one is already on its way. Never raises: a row that no task claims stays queued
    and the sweeper rings for it."""
    if not _armed(category):
        return False
    try:
        for _ in range(max(1, count)):
            _publish(category)
    except Exception as error:  # broker down: the sweeper will find these rows
        logger.warning("outbox: could not enqueue delivery of %s email(s), left queued: %s", category, error)
        answered(category)  # let the next send try again
        return False
    return True


def ring_later(category, delay):
    """A wake-up in `delay` seconds (a retry's back-off, the send rate's wait)."""
    try:
        _publish(category, countdown=max(0.0, delay))
    except Exception as error:
        logger.warning("outbox: could not schedule delivery of %s email(s) in %.1fs: %s", category, delay, error)


def retries_ring(rows):
    """One wake-up per category and whole second of back-off for rows put back in the queue."""
    wakeups = {(row.category, math.ceil(row.retry_in)) for row in rows if hasattr(row, "retry_in")}
    for category, delay in sorted(wakeups):
        if delay <= 0:
            ring(category)
        else:
            ring_later(category, delay)


def ring_for(rows):
    """After a commit: one ring per category of the rows stored."""
    for category in dict.fromkeys(row.category for row in rows):
        ring(category)
