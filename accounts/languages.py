"""A user's language for emails: one of the project's LANGUAGES, read when used.

The model field has no choices, so a project's LANGUAGES never shows up in a migration; forms and
model validation check the value against the settings of the project that runs.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def language_default():
    return settings.LANGUAGE_CODE


def language_choices():
    return list(settings.LANGUAGES)


def language_validate(value):
    if value not in dict(settings.LANGUAGES):
        raise ValidationError(
            _("%(value)s is not one of this site's languages."), code="invalid_choice", params={"value": value}
        )
