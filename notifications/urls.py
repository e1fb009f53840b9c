from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("dev/mailbox/", views.mailbox_list, name="mailbox"),
    path("dev/mailbox/<int:pk>/", views.mailbox_detail, name="mailbox-detail"),
    path("dev/mailbox/<int:pk>/html/", views.mailbox_html, name="mailbox-html"),
]
