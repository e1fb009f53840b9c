"""Account forms, of every page and of the API. They validate and normalise; the flow modules
(accounts.flows.signup, accounts.flows.email_verification, accounts.flows.password_reset, ...) do the work.

Every text field refuses NUL bytes (Django's CharField does) and over-long input with a field
error, so bad input never reaches the database as a 500.
"""

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from .flows import account_deletion
from .flows.code_verification import Purpose, code_consume
from .flows.password_reset import password_reset_code_user
from .identity import email_canonical, username_key
from .languages import language_choices
from .models import username_validator
from .ratelimit import client_ip

EMAIL_MAX_LENGTH = 254
USERNAME_MAX_LENGTH = 30
PASSWORD_MAX_LENGTH = 1024  # enough for any passphrase; stops megabyte bodies reaching the hasher
CODE_MAX_LENGTH = 32


def _users():
    return get_user_model()._default_manager


def _limit_passwords(form, *names):
    for name in names:
        field = form.fields[name]
        field.max_length = PASSWORD_MAX_LENGTH
        field.validators.append(MaxLengthValidator(PASSWORD_MAX_LENGTH))


class CanonicalEmailField(forms.EmailField):
    """An email field whose value is the canonical address (accounts.identity.email_canonical),
    with a field error for what has none."""

    default_validators = []  # email_canonical validates the result itself

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return email_canonical(value) if value else value


def email_field(label=None, **attrs):
    return CanonicalEmailField(
        label=label or _("Email address"),
        max_length=EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autocomplete": "email", **attrs}),
    )


def code_field(label=None, max_length=CODE_MAX_LENGTH):
    return forms.CharField(
        label=label or _("Code from the email"),
        max_length=max_length,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


# ------------------------------------------------------------------------------------------------
# Sign-up
# ------------------------------------------------------------------------------------------------
class SignupForm(auth_forms.SetPasswordMixin, forms.Form):
    """email, username, password1, password2 and an optional emailed `code`.

    A right code confirms the address at once (`code_verified`). Without one, the form does not
    look the address up at all: whether it has an account is the worker's business
    (accounts.flows.signup.signup_process), so sign-up reveals nothing, not even by its timing. Only a right
    code, which proves the visitor owns the address, lets the form say the address has an account
    (`existing_account`, an error). The code is only checked (and so used up) when everything else
    is valid.
    """

    email = email_field(autofocus=True)
    username = forms.CharField(
        label=_("Username"),
        max_length=USERNAME_MAX_LENGTH,
        validators=[username_validator],
        help_text=_("Your public name: up to 30 letters, digits, underscores and dots."),
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}),
    )
    password1, password2 = auth_forms.SetPasswordMixin.create_password_fields()
    code = forms.CharField(
        label=_("Verification code"),
        required=False,
        max_length=CODE_MAX_LENGTH,
        help_text=_("Optional. If you asked for a code by email, enter it to confirm your address right away."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args, request=None, **kwargs):
        self.request = request
        self.code_verified = False
        self.code_retry_after = None
        self.existing_account = False
        super().__init__(*args, **kwargs)
        _limit_passwords(self, "password1", "password2")

    def clean_username(self):
        username = self.cleaned_data["username"]
        if _users().filter(username_key=username_key(username)).exists():
            raise ValidationError(_("That username is taken."), code="unique")
        return username

    def clean(self):
        cleaned = super().clean()
        self.validate_passwords()
        user_model = get_user_model()
        # Checked against a draft user, so the password may not resemble the name or address.
        draft = user_model(username=cleaned.get("username") or "", email=cleaned.get("email") or "")
        self.validate_password_for_user(draft)
        if not self.errors and cleaned.get("code"):
            self._check_code(cleaned.get("email"), cleaned["code"])
        return cleaned

    def _check_code(self, email, code):
        ip = client_ip(self.request) if self.request is not None else None
        try:
            code_consume(email=email, purpose="signup", code=code, ip=ip)
        except ValidationError as error:
            self.add_error("code", error)
            self.code_retry_after = getattr(error, "retry_after", None)  # over a code-check limit
            return
        self.code_verified = True
        self.existing_account = _users().filter(email=email).exists()
        if self.existing_account:
            self.add_error(
                "email",
                ValidationError(
                    _("An account with this address already exists. Log in, or reset your password."),
                    code="unique",
                ),
            )


# ------------------------------------------------------------------------------------------------
# Log-in
# ------------------------------------------------------------------------------------------------
class LoginForm(auth_forms.AuthenticationForm):
    """Email or username, and password. An account whose address is not confirmed is refused,
    with `unconfirmed_user` set so the page can offer a new link."""

    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "invalid_login": _("That email or username and password do not match an account."),
        "unconfirmed": _("Please confirm your email address first: open the link we emailed you."),
    }

    def __init__(self, request=None, *args, **kwargs):
        self.unconfirmed_user = None
        super().__init__(request, *args, **kwargs)
        field = self.fields["username"]
        field.label = _("Email or username")
        field.max_length = EMAIL_MAX_LENGTH
        field.validators.append(MaxLengthValidator(EMAIL_MAX_LENGTH))
        # "webauthn": the browser offers this site's passkeys in the field's autofill (conditional
        # mediation, accounts/static/accounts/passkeys.js).
        field.widget.attrs.update(maxlength=EMAIL_MAX_LENGTH, autocomplete="username webauthn", autocapitalize="none")
        self.fields["password"].validators.append(MaxLengthValidator(PASSWORD_MAX_LENGTH))

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.email_confirmed:
            self.unconfirmed_user = user
            raise ValidationError(self.error_messages["unconfirmed"], code="unconfirmed")


# ------------------------------------------------------------------------------------------------
# Confirmation links and password reset
# ------------------------------------------------------------------------------------------------
class EmailForm(forms.Form):
    email = email_field(autofocus=True)


class PasswordResetForm(EmailForm):
    """The address to mail a reset link to. Nothing here looks it up: the worker does
    (accounts.flows.password_reset.password_reset_process), so the request costs the same for every address."""


class SetPasswordForm(auth_forms.SetPasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _limit_passwords(self, "new_password1", "new_password2")


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _limit_passwords(self, "old_password", "new_password1", "new_password2")


# ------------------------------------------------------------------------------------------------
# Changing the address
# ------------------------------------------------------------------------------------------------
class EmailChangeForm(forms.Form):
    """A new address and the current password. Whether another account has the address is not
    this form's business: the answer must be the same either way
    (accounts.flows.email_change.email_change_request tells the two apart by mail)."""

    email = email_field(label=_("New email address"), autofocus=True)
    password = forms.CharField(
        label=_("Current password"),
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_email(self):
        email = self.cleaned_data["email"]
        if email == self.user.email:
            raise ValidationError(_("That is already your address."), code="same")
        return email

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError(_("Your password was entered incorrectly."), code="password_incorrect")
        return password


# ------------------------------------------------------------------------------------------------
# Emailed codes: ask for one, log in with one, confirm a new account, reset a password
# ------------------------------------------------------------------------------------------------
class CodeRequestForm(forms.Form):
    email = email_field()
    purpose = forms.ChoiceField(choices=Purpose.choices, required=False, widget=forms.HiddenInput)


class CodeLoginForm(forms.Form):
    email = email_field()
    code = code_field(max_length=64)


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


# ------------------------------------------------------------------------------------------------
# Deleting the account
# ------------------------------------------------------------------------------------------------
class AccountDeleteForm(forms.Form):
    """The current password or the code emailed for the deletion; either is checked (and counted
    against its limits) by accounts.flows.account_deletion. Over a limit, `retry_after` says for how long."""

    password = forms.CharField(
        label=_("Current password"),
        required=False,
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label=_("Or the code we emailed you"),
        required=False,
        max_length=CODE_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        self.retry_after = None
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if not cleaned.get("password") and not cleaned.get("code"):
            raise ValidationError(_("Enter your password, or the code we emailed you."), code="required")
        try:
            account_deletion.deletion_confirm(
                user=self.user, password=cleaned.get("password"), code=cleaned.get("code")
            )
        except account_deletion.DeletionError as error:
            self.retry_after = getattr(error, "retry_after", None)
            self.add_error("password" if cleaned.get("password") else "code", error)
        return cleaned


# ------------------------------------------------------------------------------------------------
# Admin
# ------------------------------------------------------------------------------------------------
class AdminIdentityMixin:
    """Canonicalise the address and refuse one or a username another account has in its
    canonical form, with a readable message rather than the database constraint's."""

    def clean_email(self):
        email = email_canonical(self.cleaned_data.get("email"))
        if self._others().filter(email=email).exists():
            raise ValidationError(_("Another account uses this address."), code="unique")
        return email

    def clean_username(self):
        username = self.cleaned_data.get("username")
        if username and self._others().filter(username_key=username_key(username)).exists():
            raise ValidationError(_("That username is taken."), code="unique")
        return username

    def _others(self):
        others = _users().all()
        return others.exclude(pk=self.instance.pk) if self.instance.pk else others


class AdminUserCreationForm(AdminIdentityMixin, auth_forms.AdminUserCreationForm):
    class Meta(auth_forms.AdminUserCreationForm.Meta):
        model = get_user_model()
        fields = ("email", "username")


class AdminUserChangeForm(AdminIdentityMixin, auth_forms.UserChangeForm):
    language = forms.ChoiceField(label=_("language for emails"), choices=language_choices)

    class Meta(auth_forms.UserChangeForm.Meta):
        model = get_user_model()


# ------------------------------------------------------------------------------------------------
# Passkeys (accounts.flows.passkeys)
# ------------------------------------------------------------------------------------------------
class PasskeySignupForm(forms.Form):
    """Sign-up with a passkey instead of a password: the address and the username, validated as
    the sign-up with a password validates them (the address is not looked up)."""

    email = email_field(autofocus=True)
    username = SignupForm.base_fields["username"]
    clean_username = SignupForm.clean_username


class PasskeyNameForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=64, required=False)
