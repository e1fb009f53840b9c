"""The project's Celery app: configured from Django settings under the CELERY_ namespace."""

import os
import sys
from pathlib import Path

from celery import Celery, signals
from celery.signals import beat_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailsite.settings")

app = Celery("mailsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


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
