from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

username_validator = RegexValidator(
    r"^[A-Za-z0-9_.]+\Z",
    _("Use only letters, digits, underscores and dots."),
)


def normalize_email(email):
    """The one spelling of an address that we store and look up: trimmed and lower-cased."""
    return (email or "").strip().lower()


class UserManager(DjangoUserManager):
    def get_by_natural_key(self, username):
        return self.get(**{f"{self.model.USERNAME_FIELD}__iexact": username})

    def get_by_login(self, login):
        """The user whose email or username (in any case) is `login`; DoesNotExist otherwise."""
        login = (login or "").strip()
        if "@" in login:
            return self.get(email=normalize_email(login))
        return self.get(username__iexact=login)

    def _create_user(self, username, email, password, **extra_fields):
        return super()._create_user(username, normalize_email(email), password, **extra_fields)


class User(AbstractUser):
    username = models.CharField(
        _("username"),
        max_length=30,
        unique=True,
        validators=[username_validator],
        help_text=_("Up to 30 letters, digits, underscores and dots."),
        error_messages={"unique": _("That username is taken.")},
    )
    email = models.EmailField(_("email address"), max_length=254, unique=True)
    email_confirmed_at = models.DateTimeField(_("email confirmed at"), null=True, blank=True)
    language = models.CharField(
        _("language for emails"),
        max_length=10,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
    )

    objects = UserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
        ]

    def clean(self):
        super().clean()
        self.email = normalize_email(self.email)

    @property
    def email_confirmed(self):
        return self.email_confirmed_at is not None

    def mark_email_confirmed(self, *, when=None):
        self.email_confirmed_at = when or timezone.now()
