"""The project's Celery app: configured from Django settings under the CELERY_ namespace."""

import os
import sys

from celery import Celery
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


@beat_init.connect
def _beat_heartbeat_start(sender, **kwargs):
    """Beat proves it is alive to /readyz: a heartbeat now and at each task it publishes."""
    from celery.signals import before_task_publish

    from .health import beat_heartbeat

    beat_heartbeat()
    before_task_publish.connect(beat_heartbeat, weak=False, dispatch_uid="mailsite.beat_heartbeat")
