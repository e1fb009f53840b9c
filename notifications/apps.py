from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Imported when the app registry is ready: checks and signals register and connect, and
        # the shared tasks exist in every process, not only in workers, so a task published by
        # name from a web process honours CELERY_TASK_ALWAYS_EAGER.
        from . import checks, signals, tasks  # noqa: F401
        from .ops import metrics  # noqa: F401  (connects its receivers)
