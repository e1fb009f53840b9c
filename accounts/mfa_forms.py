"""Forms of the second-factor pages: they bound and clean what is typed; accounts.flows checks it."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .forms import PASSWORD_MAX_LENGTH

CODE_MAX_LENGTH = 64  # a recovery code with dashes and spaces fits; a megabyte does not


def _code_field(label, **attrs):
    return forms.CharField(
        label=label,
        max_length=CODE_MAX_LENGTH,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false", **attrs}
        ),
    )


class SecondFactorForm(forms.Form):
    code = _code_field(_("Code from your authenticator app, or a recovery code"), autofocus=True)
    trust = forms.BooleanField(label=_("Trust this browser for 30 days"), required=False)


class TotpConfirmForm(forms.Form):
    code = _code_field(_("Code from your authenticator app"), inputmode="numeric", autofocus=True)


class ReauthForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        required=False,
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    code = _code_field(_("Or a code"), inputmode="numeric")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].required = False
