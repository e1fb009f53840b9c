"""The project's Celery app: configured from Django settings under the CELERY_ namespace."""

import os
import sys
from pathlib import Path

from celery import Celery, bootsteps, signals
from celery.signals import beat_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailsite.settings")

app = Celery("mailsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class WorkerHeartbeat(bootsteps.StartStopStep):
    """A worker says it is alive (mailsite/health.py): from the worker's own timer, every
    HEALTH_HEARTBEAT_INTERVAL seconds, so a worker whose event loop is stuck stops beating."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.tref = None

    def start(self, worker):
        from django.conf import settings

        self.beat(worker)
        self.tref = worker.timer.call_repeatedly(settings.HEALTH_HEARTBEAT_INTERVAL, self.beat, (worker,), priority=10)

    def stop(self, worker):
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    def beat(self, worker):
        from .health import worker_heartbeat

        worker_heartbeat(node=worker.hostname, queues=list(worker.app.amqp.queues.consume_from))


app.steps["worker"].add(WorkerHeartbeat)


@app.on_configure.connect
def _settings_or_exit(sender, **kwargs):
    """Under `celery -A mailsite ...` the settings load here: a bad one ends start-up with the
    same one line as manage.py prints, not a traceback. (Under manage.py they are loaded already.)"""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        settings.INSTALLED_APPS  # noqa: B018  (reading a setting loads them all)
    except ImproperlyConfigured as error:
        sys.exit(f"mailsite: configuration error: {error}")
    _folders_create(settings)


def _folders_create(settings):
    """The filesystem broker's folders and beat's schedule file live under var/; they are made
    here, where Celery first needs them, since the settings module writes nothing."""
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            if options.get(key):
                Path(options[key]).mkdir(parents=True, exist_ok=True)
    if getattr(settings, "CELERY_BEAT_SCHEDULE_FILENAME", ""):
        Path(settings.CELERY_BEAT_SCHEDULE_FILENAME).parent.mkdir(parents=True, exist_ok=True)


@beat_init.connect
def _beat_heartbeat_start(sender, **kwargs):
    """Beat proves it is alive to /readyz: a heartbeat now and at each task it publishes."""
    from celery.signals import before_task_publish

    from .health import beat_heartbeat

    beat_heartbeat()
    before_task_publish.connect(beat_heartbeat, weak=False, dispatch_uid="mailsite.beat_heartbeat")


@signals.task_prerun.connect
def _database_connection_checked(**kwargs):
    """The worker keeps its connection across tasks (CELERY_DB_REUSE_MAX), as a web process does
    across requests: closed only when it broke or outlived CONN_MAX_AGE."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        connection.close_if_unusable_or_obsolete()
