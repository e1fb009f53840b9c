"""The admin's "Task results" (django-celery-results) hold what the operator cares about: each run
of the sweeps, prunes, alerts and retention, and each follower digest; not the delivery tasks."""

import time

from django_celery_results.models import TaskResult

from mailsite import tasks as ops_tasks
from notifications import tasks

RESULT_TIMEOUT = 60.0  # seconds for the worker to store a result (a bound, not a measure)


def result_of(task_id):
    deadline = time.monotonic() + RESULT_TIMEOUT
    while time.monotonic() < deadline:
        found = TaskResult.objects.filter(task_id=task_id).first()
        if found and found.status in ("SUCCESS", "FAILURE"):
            return found
        time.sleep(0.2)
    raise AssertionError(f"no stored result for task {task_id}")


def test_periodic_tasks_and_digests_store_their_results_and_delivery_does_not(worker_factory, user_factory):
    worker = worker_factory()
    user = user_factory()

    deliver = tasks.outbox_deliver.delay([])
    sweep = tasks.outbox_sweep.delay()
    digest = tasks.follower_alerts_process.delay(user.pk)
    retention = ops_tasks.retention_purge.delay()

    stored = {task.id: result_of(task.id) for task in (sweep, digest, retention)}
    assert {row.task_name for row in stored.values()} == {
        "notifications.tasks.outbox_sweep",
        "notifications.tasks.follower_alerts_process",
        "mailsite.tasks.retention_purge",
    }, worker.log()
    assert all(row.status == "SUCCESS" for row in stored.values()), [row.traceback for row in stored.values()]
    assert '"alert_sent": false' in stored[digest.id].result
    assert "codes_deleted" in stored[retention.id].result
    # The delivery task ran before the others on this one solo worker, and left no row.
    assert not TaskResult.objects.filter(task_id=deliver.id).exists()
    assert not TaskResult.objects.filter(task_name="notifications.tasks.outbox_deliver").exists()
