from django.contrib import admin
from django.urls import include, path

from accounts.views_language import language_set

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("", include("notifications.urls")),
    path("admin/", admin.site.urls),
    # Providers' tracking webhooks (Amazon SES via SNS, Mailgun), e.g. /anymail/mailgun/tracking/.
    path("anymail/", include("notifications.webhooks")),
    # Django's set_language, which also saves a logged-in user's choice for their email.
    path("i18n/setlang/", language_set, name="set_language"),
]
