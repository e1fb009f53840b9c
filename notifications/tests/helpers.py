"""Waiting on real processes: a row reaching a status, a worker logging a line."""

import time

from notifications.models import OutboundEmail

TIMEOUT = 40.0


def wait_until(condition, what, timeout=TIMEOUT):
    """Poll `condition()` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def wait_status(pk, *statuses, timeout=TIMEOUT):
    """The row once its status is one of `statuses`."""
    last = {}

    def reached():
        row = OutboundEmail.objects.get(pk=pk)
        last["row"] = row
        return row if row.status in statuses else None

    try:
        return wait_until(reached, f"email {pk} to become {'/'.join(statuses)}", timeout)
    except AssertionError:
        row = last.get("row")
        raise AssertionError(
            f"email {pk} stayed {row.status!r} after {row.attempts} attempt(s): {row.last_error}"
        ) from None


def wait_log(worker, text, count=1, timeout=TIMEOUT):
    """Wait until the worker's log holds `text` at least `count` times."""
    return wait_until(
        lambda: worker.log_path.read_text(errors="replace").count(text) >= count,
        f"{text!r} x{count} in the worker log:\n{worker.log()}",
        timeout,
    )


def broker_idle(redis_client):
    """No task waits in a queue or is reserved by a worker (eta and countdown tasks stay reserved until run)."""
    waiting = sum(redis_client.llen(queue) for queue in ("email-urgent", "email-bulk", "default"))
    return waiting == 0 and redis_client.hlen("unacked") == 0
