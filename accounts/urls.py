from django.urls import path

from .views import account, codes, confirmation, email_change, login, passkeys, passwords, signup

app_name = "accounts"

urlpatterns = [
    path("signup/", signup.SignupView.as_view(), name="signup"),
    path("confirm/sent/", confirmation.ConfirmSentView.as_view(), name="confirm-sent"),
    path("confirm/resend/", confirmation.ConfirmResendView.as_view(), name="confirm-resend"),
    path("confirm/code/", confirmation.ConfirmCodeView.as_view(), name="confirm-code"),
    path("confirm/<str:token>/", confirmation.ConfirmView.as_view(), name="confirm"),
    path("login/", login.LoginView.as_view(), name="login"),
    path("logout/", login.LogoutView.as_view(), name="logout"),
    path("password/reset/", passwords.PasswordResetView.as_view(), name="password-reset"),
    path("password/reset/done/", passwords.PasswordResetDoneView.as_view(), name="password-reset-done"),
    path("password/reset/code/", passwords.PasswordResetCodeView.as_view(), name="password-reset-code"),
    path("password/reset/complete/", passwords.PasswordResetCompleteView.as_view(), name="password-reset-complete"),
    path(
        "password/reset/<uidb64>/<token>/",
        passwords.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("password/change/", passwords.PasswordChangeView.as_view(), name="password-change"),
    path("email/change/", email_change.EmailChangeView.as_view(), name="email-change"),
    path(
        "email/change/confirm/<str:token>/",
        email_change.EmailChangeConfirmView.as_view(),
        name="email-change-confirm",
    ),
    path("settings/", account.SettingsView.as_view(), name="settings"),
    path("sessions/end-others/", account.SessionsEndOthersView.as_view(), name="sessions-end-others"),
    path("delete/", account.AccountDeleteView.as_view(), name="delete"),
    path("delete/code/", account.AccountDeleteCodeView.as_view(), name="delete-code"),
    path("email/revert/", email_change.EmailRevertView.as_view(), name="email-revert"),
    path("email/revert/<str:token>/", email_change.EmailRevertView.as_view(), name="email-revert-link"),
    path("code/", codes.CodeSendView.as_view(), name="code-send"),
    path("login/code/", login.LoginCodeView.as_view(), name="login-code"),
    path("login/code/confirm/", login.LoginCodeConfirmView.as_view(), name="login-code-confirm"),
    path("passkeys/", passkeys.PasskeyListView.as_view(), name="passkeys"),
    path("passkeys/<int:passkey_id>/rename/", passkeys.PasskeyRenameView.as_view(), name="passkey-rename"),
    path("passkeys/<int:passkey_id>/remove/", passkeys.PasskeyRemoveView.as_view(), name="passkey-remove"),
    path("passkeys/register/begin/", passkeys.PasskeyRegisterBeginView.as_view(), name="passkey-register-begin"),
    path("passkeys/register/finish/", passkeys.PasskeyRegisterFinishView.as_view(), name="passkey-register-finish"),
    path("passkeys/login/begin/", passkeys.PasskeyLoginBeginView.as_view(), name="passkey-login-begin"),
    path("passkeys/login/finish/", passkeys.PasskeyLoginFinishView.as_view(), name="passkey-login-finish"),
    path("signup/passkey/", passkeys.PasskeySignupView.as_view(), name="passkey-signup"),
    path("signup/passkey/begin/", passkeys.PasskeySignupBeginView.as_view(), name="passkey-signup-begin"),
    path("signup/passkey/finish/", passkeys.PasskeySignupFinishView.as_view(), name="passkey-signup-finish"),
]
