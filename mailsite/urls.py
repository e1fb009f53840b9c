from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("", include("notifications.urls")),
    path("admin/", admin.site.urls),
    # Providers' tracking webhooks (Amazon SES via SNS, Mailgun), e.g. /anymail/mailgun/tracking/.
    path("anymail/", include("anymail.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
