from django.urls import path

from . import views, views_by_code, views_codes, views_settings

app_name = "accounts"

urlpatterns = [
    path("signup/", views.SignupView.as_view(), name="signup"),
    path("confirm/sent/", views.ConfirmSentView.as_view(), name="confirm-sent"),
    path("confirm/resend/", views.ConfirmResendView.as_view(), name="confirm-resend"),
    path("confirm/code/", views_by_code.email_verify_code_view, name="confirm-code"),
    path("confirm/<str:token>/", views.ConfirmView.as_view(), name="confirm"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password-reset"),
    path("password/reset/done/", views.PasswordResetDoneView.as_view(), name="password-reset-done"),
    path("password/reset/code/", views_by_code.password_reset_code_view, name="password-reset-code"),
    path("password/reset/complete/", views.PasswordResetCompleteView.as_view(), name="password-reset-complete"),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("password/change/", views.PasswordChangeView.as_view(), name="password-change"),
    path("email/change/", views.EmailChangeView.as_view(), name="email-change"),
    path("email/change/confirm/<str:token>/", views.EmailChangeConfirmView.as_view(), name="email-change-confirm"),
    path("settings/", views_settings.account_settings, name="settings"),
    path("sessions/end-others/", views_settings.sessions_end_others, name="sessions-end-others"),
    path("delete/", views_settings.account_delete, name="delete"),
    path("delete/code/", views_settings.account_delete_code, name="delete-code"),
    path("email/revert/", views.EmailRevertView.as_view(), name="email-revert"),
    path("email/revert/<str:token>/", views.EmailRevertView.as_view(), name="email-revert-link"),
    path("code/", views_codes.code_send_view, name="code-send"),
    path("login/code/", views_codes.login_code_view, name="login-code"),
    path("login/code/confirm/", views_codes.login_code_confirm_view, name="login-code-confirm"),
]
