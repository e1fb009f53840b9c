import pytest

from accounts.forms import EmailChangeForm, EmailForm, LoginForm, PasswordResetForm, SignupForm

from .support import PASSWORD  # noqa: F401

pytestmark = pytest.mark.django_db

GOOD = {"email": "new@example.com", "username": "newbie", "password1": PASSWORD, "password2": PASSWORD}


def signup(**changes):
    data = {**GOOD, **changes}
    form = SignupForm(data={k: v for k, v in data.items() if v is not None})
    form.is_valid()
    return form


def test_valid_signup_is_normalised():
    form = signup(email="  New@Example.COM ")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["email"] == "new@example.com"
    assert form.existing_account is False and form.code_verified is False


@pytest.mark.parametrize(
    "field, value",
    [
        ("email", "not-an-email"),
        ("email", "a@b"),
        ("email", "x" * 250 + "@example.com"),
        ("email", "nul\x00@example.com"),
        ("email", ""),
        ("username", "has space"),
        ("username", "at@sign"),
        ("username", "ümlaut"),
        ("username", "x" * 31),
        ("username", "nul\x00byte"),
        ("username", ""),
        ("password1", "x" * 1025),
        ("password1", "nul\x00" + PASSWORD),
        ("code", "1" * 33),
        ("code", "12\x003456"),
    ],
)
def test_bad_input_gets_a_field_error(field, value):
    changes = {field: value}
    if field == "password1":
        changes["password2"] = value
    form = signup(**changes)
    assert not form.is_valid()
    assert field in form.errors or (field == "password1" and "password2" in form.errors), form.errors


def test_mismatched_passwords():
    form = signup(password2=PASSWORD + "!")
    assert form.errors["password2"] == ["The two password fields didn’t match."]


@pytest.mark.parametrize("password", ["password", "12345678", "short", "newbie123"])
def test_weak_passwords_are_refused_by_djangos_validators(password):
    form = signup(password1=password, password2=password)
    assert "password2" in form.errors


def test_username_that_collides_in_another_case(user_factory):
    user_factory(username="Newbie", email="first@example.com")
    form = signup(username="nEWBIE")
    assert form.errors["username"] == ["That username is taken."]


def test_existing_address_is_not_looked_up_without_a_code(user_factory, django_assert_max_num_queries):
    """The form does the same work for a taken address as for a free one: it never asks whether
    the address has an account (the worker does), only whether the username is taken."""
    user_factory(email="new@example.com", username="first")
    with django_assert_max_num_queries(1):  # the username lookup
        form = signup(email="NEW@example.com")
        assert form.is_valid(), form.errors
    assert form.existing_account is False


def test_code_is_not_checked_while_other_fields_are_wrong(outbox):
    """A right code is not used up by a form that fails anyway: it still works afterwards."""
    from accounts.flows.code_verification import code_consume, code_send

    from .code_helpers import code_from

    code_send(email="new@example.com", purpose="signup")
    code = code_from(outbox, "new@example.com")
    form = signup(password2="different " + PASSWORD, code=code)
    assert not form.is_valid()
    assert code_consume(email="new@example.com", purpose="signup", code=code) is None


def test_login_form_accepts_long_email_addresses(user_factory):
    long_email = "a.very.long.address.indeed@subdomain.example.com"
    user_factory(email=long_email)
    form = LoginForm(data={"username": long_email.upper(), "password": PASSWORD})
    assert form.is_valid(), form.errors
    assert form.get_user().email == long_email
    assert form.fields["username"].widget.attrs["maxlength"] == 254


@pytest.mark.parametrize("username", ["x" * 255, "nul\x00"])
def test_login_form_rejects_bad_input(username):
    form = LoginForm(data={"username": username, "password": PASSWORD})
    assert not form.is_valid()
    assert "username" in form.errors


def test_login_refuses_unconfirmed_account_with_right_password(user_factory):
    user = user_factory(confirmed=False)
    form = LoginForm(data={"username": "ada", "password": PASSWORD})
    assert not form.is_valid()
    assert form.non_field_errors().as_data()[0].code == "unconfirmed"
    assert form.unconfirmed_user == user


def test_login_wrong_password_does_not_reveal_confirmation_state(user_factory):
    user_factory(confirmed=False)
    form = LoginForm(data={"username": "ada", "password": "wrong"})
    assert not form.is_valid()
    assert form.non_field_errors().as_data()[0].code == "invalid_login"
    assert form.unconfirmed_user is None


@pytest.mark.parametrize("form_class", [EmailForm, PasswordResetForm])
@pytest.mark.parametrize("value", ["nope", "a" * 260 + "@x.org", "a\x00@example.com", ""])
def test_email_only_forms_reject_bad_addresses(form_class, value):
    form = form_class(data={"email": value})
    assert not form.is_valid()
    assert "email" in form.errors


def test_email_change_form(user_factory):
    user = user_factory()
    user_factory(email="taken@example.com", username="grace")
    # A taken address is valid here: the service mails its owner, and the page answers alike.
    assert EmailChangeForm(user, data={"email": "Taken@Example.com", "password": PASSWORD}).is_valid()
    assert EmailChangeForm(user, data={"email": "ADA@example.com", "password": PASSWORD}).errors["email"] == [
        "That is already your address."
    ]
    assert "password" in EmailChangeForm(user, data={"email": "n@example.com", "password": "wrong"}).errors
    form = EmailChangeForm(user, data={"email": "New@Example.com", "password": PASSWORD})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["email"] == "new@example.com"
    user.refresh_from_db()
    assert user.email == "ada@example.com"  # a valid form changes nothing by itself
