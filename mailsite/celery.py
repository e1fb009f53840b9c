"""The project's Celery app: configured from Django settings under the CELERY_ namespace."""

import os
import sys

from celery import Celery, signals

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


@signals.task_prerun.connect
def _database_connection_checked(**kwargs):
    """The worker keeps its connection across tasks (CELERY_DB_REUSE_MAX), as a web process does
    across requests: closed only when it broke or outlived CONN_MAX_AGE."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        connection.close_if_unusable_or_obsolete()
