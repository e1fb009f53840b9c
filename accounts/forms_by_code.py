"""Forms of the flows by code: the code that confirms a new account, and a reset by code."""

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from .forms import CODE_MAX_LENGTH, _limit_passwords, email_field
from .password_reset import password_reset_code_user


def code_field():
    return forms.CharField(
        label=_("Code from the email"),
        max_length=CODE_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class VerifyCodeForm(forms.Form):
    code = code_field()


class PasswordResetCodeForm(auth_forms.SetPasswordMixin, forms.Form):
    """email, code and the new password twice. Only the password is checked here (against the
    account's own rules); the view uses up the code once everything else is right."""

    email = email_field()
    code = code_field()
    new_password1, new_password2 = auth_forms.SetPasswordMixin.create_password_fields(
        label1=_("New password"), label2=_("New password confirmation")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _limit_passwords(self, "new_password1", "new_password2")

    def clean(self):
        cleaned = super().clean()
        self.validate_passwords("new_password1", "new_password2")
        email = cleaned.get("email") or ""
        user = password_reset_code_user(email=email) if email else None
        self.validate_password_for_user(user or get_user_model()(email=email), "new_password2")
        return cleaned
