from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers the shared tasks in every process, not only in workers (Celery's autodiscovery
        # runs at worker start): a task published by name from a web process then honours
        # CELERY_TASK_ALWAYS_EAGER, for a project that runs its tasks in process.
        from . import (
            middleware,  # noqa: F401  (connects the log-in and log-out receivers)
            tasks,  # noqa: F401
        )
