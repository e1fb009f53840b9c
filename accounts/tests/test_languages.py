"""A user's language is checked against the running project's LANGUAGES, not frozen in a migration."""

import pytest
from django.core.exceptions import ValidationError

from accounts.forms import AdminUserChangeForm
from accounts.languages import language_validate
from accounts.models import Intent, User

from .support import PASSWORD


def test_the_field_has_no_choices_so_languages_never_reach_a_migration():
    field = User._meta.get_field("language")
    assert not field.choices
    _name, _path, _args, kwargs = field.deconstruct()
    assert "choices" not in kwargs and callable(kwargs["default"])


def test_a_language_is_valid_only_if_the_project_offers_it(settings):
    settings.LANGUAGES = [("en", "English"), ("de", "German")]
    language_validate("de")
    with pytest.raises(ValidationError):
        language_validate("zh-hans")


@pytest.mark.django_db
def test_the_admin_form_offers_and_accepts_only_the_projects_languages(settings):
    settings.LANGUAGES = [("en", "English"), ("de", "German")]
    settings.LANGUAGE_CODE = "de"
    user = User.objects.create_user(username="ada", email="ada@example.com", password="x" * 20)
    assert user.language == "de"
    form = AdminUserChangeForm(instance=user)
    assert [code for code, _label in form.fields["language"].choices] == ["en", "de"]
    data = {**form.initial, "language": "zh-hans", "date_joined": user.date_joined.strftime("%Y-%m-%d %H:%M:%S")}
    bound = AdminUserChangeForm(data=data, instance=user)
    assert not bound.is_valid() and "language" in bound.errors


@pytest.mark.parametrize(
    "accept, expected", [("en-US,en;q=0.9", "en"), ("zh-Hans-CN", "zh-hans"), ("zh-CN", "zh-hans"), ("fr", "en")]
)
def test_a_sign_up_keeps_the_language_of_the_request_as_one_the_project_offers(accept, expected, db, client, settings):
    """The request's variant ("en-us", "zh-cn") is matched as Django matches it, so the emails go
    out in a language the project has; one it has not falls back to LANGUAGE_CODE."""
    settings.ACCOUNTS_INTENTS_INLINE = False  # keep the intent, with the language it carries
    data = {"email": "new@example.com", "username": "newcomer", "password1": PASSWORD, "password2": PASSWORD}
    assert client.post("/accounts/signup/", data, headers={"Accept-Language": accept}).status_code == 302
    assert Intent.objects.get().data["language"] == expected
