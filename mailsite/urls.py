from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django_celery_results.admin import TaskResultAdmin
from django_celery_results.models import TaskResult

from accounts.views.language import language_set
from notifications.ops.admin_dashboard import delivery_dashboard

from . import metrics, views
from .api import api

admin.site.site_header = _("mailsite administration")
admin.site.site_title = _("mailsite admin")


class TaskResultReadOnlyAdmin(TaskResultAdmin):
    """A task result is written by the workers: there is nothing for staff to add."""

    def has_add_permission(self, request):
        return False


admin.site.unregister(TaskResult)
admin.site.register(TaskResult, TaskResultReadOnlyAdmin)

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/", include("accounts.urls")),
    path("api/v1/", api.urls),
    path("", include("notifications.urls")),
    path("admin/delivery/", admin.site.admin_view(delivery_dashboard), name="delivery-dashboard"),
    path("admin/", admin.site.urls),
    path("metrics", metrics.metrics, name="metrics"),
    # Providers' tracking webhooks (Amazon SES via SNS, Mailgun), e.g. /anymail/mailgun/tracking/.
    path("anymail/", include("notifications.tracking.webhooks")),
    # Django's set_language, which also saves a logged-in user's choice for their email.
    path("i18n/setlang/", language_set, name="set_language"),
]
