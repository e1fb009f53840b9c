from django.urls import path, register_converter

from .dev import views, views_previews, views_tools
from .follows import views as views_social


class HandleConverter:
    """A username as the user model allows it (letters, digits, `_` and `.`): anything else is a
    404 before a view or the database sees it."""

    regex = r"[A-Za-z0-9_.]{1,150}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(HandleConverter, "handle")

app_name = "notifications"

urlpatterns = [
    path("dev/mailbox/", views.mailbox_list, name="mailbox"),
    path("dev/mailbox/<int:pk>/", views.mailbox_detail, name="mailbox-detail"),
    path("dev/mailbox/rows/", views.mailbox_rows, name="mailbox-rows"),
    path("dev/mailbox/events/", views.mailbox_events, name="mailbox-events"),
    path("dev/mailbox/clear/", views.mailbox_clear, name="mailbox-clear"),
    path("dev/mailbox/<int:pk>/html/", views.mailbox_html, name="mailbox-html"),
    path("dev/mailbox/<int:pk>/raw/", views.mailbox_raw, name="mailbox-raw"),
    path("dev/mailbox/<int:pk>/eml/", views.mailbox_eml, name="mailbox-eml"),
    path("dev/mailbox/<int:pk>/links/", views.mailbox_links, name="mailbox-links"),
    path("dev/mailbox/<int:pk>/delete/", views.mailbox_delete, name="mailbox-delete"),
    path("dev/mailbox/<int:pk>/unread/", views.mailbox_unread, name="mailbox-unread"),
    path("dev/mailbox/<int:pk>/compatibility/", views_tools.mailbox_compat, name="mailbox-compat"),
    path("dev/mailbox/<int:pk>/spam/", views_tools.mailbox_spam, name="mailbox-spam"),
    path("dev/mailbox/<int:pk>/release/", views_tools.mailbox_release_view, name="mailbox-release"),
    path("dev/mailbox/<int:pk>/attachments/<int:index>/", views.mailbox_attachment, name="mailbox-attachment"),
    path("dev/emails/", views_previews.email_preview_list, name="email-previews"),
    path("dev/emails/<slug:name>/", views_previews.email_preview_detail, name="email-preview"),
    path("dev/emails/<slug:name>/<str:language>/html/", views_previews.email_preview_html, name="email-preview-html"),
    # Follows and follower alerts (the paths are a public contract).
    path("users/", views_social.user_list, name="users"),
    path("u/<handle:username>/", views_social.profile, name="profile"),
    path("u/<handle:username>/follow/", views_social.follow, name="follow"),
    path("u/<handle:username>/unfollow/", views_social.unfollow, name="unfollow"),
    path("u/<handle:username>/followers/", views_social.followers, name="followers"),
    path("u/<handle:username>/following/", views_social.following, name="following"),
    path("settings/notifications/", views_social.notification_settings, name="settings"),
    path("notifications/unsubscribe/<str:token>/", views_social.unsubscribe, name="unsubscribe"),
]
