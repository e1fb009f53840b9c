from django.urls import path

from . import views, views_previews, views_social

app_name = "notifications"

urlpatterns = [
    path("dev/mailbox/", views.mailbox_list, name="mailbox"),
    path("dev/mailbox/<int:pk>/", views.mailbox_detail, name="mailbox-detail"),
    path("dev/mailbox/<int:pk>/html/", views.mailbox_html, name="mailbox-html"),
    path("dev/emails/", views_previews.email_preview_list, name="email-previews"),
    path("dev/emails/<slug:name>/", views_previews.email_preview_detail, name="email-preview"),
    path("dev/emails/<slug:name>/<str:language>/html/", views_previews.email_preview_html, name="email-preview-html"),
    # Follows and follower alerts (the paths are a public contract).
    path("users/", views_social.user_list, name="users"),
    path("u/<str:username>/", views_social.profile, name="profile"),
    path("u/<str:username>/follow/", views_social.follow, name="follow"),
    path("u/<str:username>/unfollow/", views_social.unfollow, name="unfollow"),
    path("u/<str:username>/followers/", views_social.followers, name="followers"),
    path("u/<str:username>/following/", views_social.following, name="following"),
    path("settings/notifications/", views_social.notification_settings, name="settings"),
    path("notifications/unsubscribe/<str:token>/", views_social.unsubscribe, name="unsubscribe"),
]
