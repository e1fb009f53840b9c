"""The Celery entry points: `manage.py celery ...` and `celery -A mailsite ...` start a worker that
consumes every queue the project uses, and task results land in django-celery-results."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib import admin
from django.db import connection
from django_celery_results.models import TaskResult

from mailsite.celery import app
from testing.fixtures import BASE_DIR, service_missing, worker_env

CELERY = str(Path(sys.executable).with_name("celery"))
QUEUES = ["email-urgent", "email-bulk", "default"]


class Process:
    """A long-running command whose output goes to a file we can read while it runs."""

    def __init__(self, command, env, log_path):
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_for(self, text, timeout=60.0):
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared:\n{self.log()[-4000:]}")
            time.sleep(0.1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def run_process(transactional_db, redis_client, tmp_path):
    if connection.vendor != "postgresql":
        service_missing("the worker process needs DATABASE_URL pointing at PostgreSQL")
    started = []

    def start(*command):
        process = Process(list(command), worker_env(), tmp_path / f"process-{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
    connection.close()


WORKERS = {
    "manage.py celery": [sys.executable, "manage.py", "celery", "worker"],
    "celery -A mailsite": [CELERY, "-A", "mailsite", "worker"],
}


@pytest.mark.parametrize("entry", WORKERS)
def test_a_plain_worker_consumes_every_queue_and_stores_results(run_process, entry):
    worker = run_process(*WORKERS[entry], "--pool=solo", "-l", "info", "--without-mingle", "--without-gossip")
    worker.wait_for(" ready.")
    for queue in QUEUES:
        assert f".> {queue} " in worker.log()

    sent = {queue: app.send_task("celery.accumulate", args=[queue], queue=queue) for queue in QUEUES}

    for queue, result in sent.items():
        assert result.get(timeout=60) == [queue]
    stored = TaskResult.objects.filter(task_id__in=[r.id for r in sent.values()])
    assert stored.count() == 3
    assert set(stored.values_list("status", flat=True)) == {"SUCCESS"}
    assert set(stored.values_list("task_name", flat=True)) == {"celery.accumulate"}


def test_beat_starts_with_the_outbox_sweep_scheduled(run_process, tmp_path):
    beat = run_process(sys.executable, "manage.py", "celery", "beat", "-l", "debug", "-s", str(tmp_path / "schedule"))
    beat.wait_for("beat: Starting...")
    beat.wait_for("outbox-sweep")


def test_task_results_are_in_the_admin(admin_client):
    assert admin.site.is_registered(TaskResult)
    TaskResult.objects.create(task_id="abc-123", task_name="notifications.tasks.outbox_sweep", status="SUCCESS")

    response = admin_client.get("/admin/django_celery_results/taskresult/")

    assert response.status_code == 200
    assert b"abc-123" in response.content
