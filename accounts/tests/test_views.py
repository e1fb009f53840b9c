import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from accounts.tokens import confirm_token_generator, email_change_token_generator
from notifications.models import OutboundEmail

from .support import PASSWORD  # noqa: F401

pytestmark = pytest.mark.django_db

SIGNUP = {"email": "new@example.com", "username": "newbie", "password1": PASSWORD, "password2": PASSWORD}


def users():
    return get_user_model().objects


# ------------------------------------------------------------------------------------------------
# Every page renders as a complete page
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, needle",
    [
        ("home", "Create an account"),
        ("accounts:signup", 'name="password2"'),
        ("accounts:login", 'name="username"'),
        ("accounts:confirm-resend", 'name="email"'),
        ("accounts:confirm-sent", "Check your inbox"),
        ("accounts:password-reset", 'name="email"'),
        ("accounts:password-reset-done", "1\xa0hour"),
        ("accounts:password-reset-complete", "Log in"),
    ],
)
def test_anonymous_pages_render(client, name, needle):
    response = client.get(reverse(name))
    assert response.status_code == 200
    body = response.content.decode()
    assert needle in body
    assert "<!doctype html>" in body and 'name="viewport"' in body and "site.css" in body


@pytest.mark.parametrize("name", ["accounts:password-change", "accounts:email-change"])
def test_logged_in_pages_need_a_login(user_factory, client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login") + "?next=")
    client.force_login(user_factory())
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert 'type="password"' in response.content.decode()


def test_home_links_to_everything(user_factory, client):
    body = client.get("/").content.decode()
    for name in ("accounts:signup", "accounts:login", "accounts:password-reset", "accounts:confirm-resend"):
        assert f'href="{reverse(name)}"' in body
    client.force_login(user_factory(is_staff=True))
    body = client.get("/").content.decode()
    assert "ada@example.com" in body and "ada" in body
    for name in ("accounts:password-change", "accounts:email-change", "admin:index"):
        assert f'href="{reverse(name)}"' in body
    assert f'action="{reverse("accounts:logout")}"' in body


def test_signup_page_has_the_hook_for_the_code_button(client):
    body = client.get(reverse("accounts:signup") + "?email=Pre%40example.com").content.decode()
    assert 'value="Pre@example.com"' in body
    assert 'name="code"' in body and 'autocomplete="one-time-code"' in body


# ------------------------------------------------------------------------------------------------
# CSRF and methods
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/accounts/signup/",
        "/accounts/login/",
        "/accounts/logout/",
        "/accounts/confirm/resend/",
        "/accounts/password/reset/",
        "/accounts/password/change/",
        "/accounts/email/change/",
    ],
)
def test_posts_without_a_csrf_token_are_refused(user_factory, path):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_factory())
    response = client.post(path, {"email": "ada@example.com"})
    assert response.status_code == 403


def test_confirm_post_without_csrf_token_is_refused_and_confirms_nothing(user_factory):
    user = user_factory(confirmed=False)
    token = confirm_token_generator.make_token(user=user, email=user.email)
    response = Client(enforce_csrf_checks=True).post(f"/accounts/confirm/{token}/")
    assert response.status_code == 403
    user.refresh_from_db()
    assert user.email_confirmed_at is None


def test_logout_get_asks_and_only_the_post_logs_out(user_factory, client):
    client.force_login(user_factory())
    page = client.get("/accounts/logout/?next=/users/")
    assert page.status_code == 200
    content = page.content.decode()
    assert "Are you sure you want to log out?" in content
    assert 'name="next" value="/users/"' in content
    assert (
        'value="https://evil.example/"'
        not in client.get("/accounts/logout/?next=https://evil.example/").content.decode()
    )
    assert client.get("/").context["user"].is_authenticated
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert not client.get("/").context["user"].is_authenticated


# ------------------------------------------------------------------------------------------------
# Sign-up errors: 200, field errors, typed values kept (never passwords), nothing written
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "changes, field",
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "x" * 250 + "@example.com"}, "email"),
        ({"email": "a\x00b@example.com"}, "email"),
        ({"username": "x" * 31}, "username"),
        ({"username": "bad name"}, "username"),
        ({"username": "nul\x00"}, "username"),
        ({"password2": "something else entirely"}, "password2"),
        ({"password1": "x" * 2000, "password2": "x" * 2000}, "password1"),
    ],
)
def test_signup_errors_rerender_with_field_errors(client, changes, field):
    response = client.post("/accounts/signup/", {**SIGNUP, **changes})
    assert response.status_code == 200
    form = response.context["form"]
    assert field in form.errors
    body = response.content.decode()
    assert 'class="errorlist' in body
    assert PASSWORD not in body  # passwords are never sent back
    if field != "username":
        assert 'value="newbie"' in body  # what the person typed is kept
    assert not users().exists()
    assert not OutboundEmail.objects.exists()


def test_signup_username_colliding_in_another_case(user_factory, client):
    user_factory(username="NewBie", email="first@example.com")
    response = client.post("/accounts/signup/", SIGNUP)
    assert response.status_code == 200
    assert response.context["form"].errors["username"] == ["That username is taken."]
    assert 'value="new@example.com"' in response.content.decode()
    assert users().count() == 1
    assert not OutboundEmail.objects.exists()


def test_signup_success_redirects_to_check_your_inbox(client, project_password_hashers):
    response = client.post("/accounts/signup/", {**SIGNUP, "email": "New@Example.com"})
    assert response.status_code in (302, 303)
    assert response["Location"] == reverse("accounts:confirm-sent")
    user = users().get()
    assert (user.email, user.username, user.email_confirmed_at) == ("new@example.com", "newbie", None)
    assert user.check_password(PASSWORD)
    assert user.password.startswith("argon2")
    page = client.get(response["Location"]).content.decode()
    assert "new@example.com" in page
    assert not client.get("/").context["user"].is_authenticated  # unconfirmed: not logged in


def test_signup_stores_the_language_of_the_request(client):
    client.post("/accounts/signup/", SIGNUP, headers={"accept-language": "zh-hans"})
    assert users().get().language == "zh-hans"


def test_logged_in_user_is_sent_home_from_signup_and_login(user_factory, client):
    client.force_login(user_factory())
    assert client.get("/accounts/signup/")["Location"] == "/"
    assert client.get("/accounts/login/")["Location"] == "/"


# ------------------------------------------------------------------------------------------------
# Confirmation links
# ------------------------------------------------------------------------------------------------
def test_confirm_get_shows_one_button_and_changes_nothing(user_factory, client):
    user = user_factory(confirmed=False)
    token = confirm_token_generator.make_token(user=user, email=user.email)
    response = client.get(f"/accounts/confirm/{token}/")
    assert response.status_code == 200
    main = response.content.decode().split("<main>")[1]
    assert main.count("<form") == 1 and main.count("<button") == 1
    assert '<form method="post" novalidate>' in main  # posts back to this same URL
    assert "Confirm" in main and "ada@example.com" in main
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    user.refresh_from_db()
    assert user.email_confirmed_at is None


@pytest.mark.parametrize("token", ["garbage", "x" * 300, "a:b:c", "%00"])
def test_bad_confirm_tokens_get_a_400_page_with_a_way_to_a_new_link(user_factory, client, token):
    user_factory(confirmed=False)
    for method in (client.get, client.post):
        response = method(f"/accounts/confirm/{token}/")
        assert response.status_code == 400
        body = response.content.decode()
        assert "This link does not work" in body
        assert f'action="{reverse("accounts:confirm-resend")}"' in body
    assert not users().filter(email_confirmed_at__isnull=False).exists()


def test_email_change_confirm_pages(user_factory, client):
    user = user_factory()
    token = email_change_token_generator.make_token(user=user, email="new@example.com")
    response = client.get(f"/accounts/email/change/confirm/{token}/")
    assert response.status_code == 200
    assert "new@example.com" in response.content.decode()
    user.refresh_from_db()
    assert user.email == "ada@example.com"
    response = client.get("/accounts/email/change/confirm/nonsense/")
    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()


# ------------------------------------------------------------------------------------------------
# Log-in
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("login", ["ada", "ADA", "ada@example.com", "Ada@Example.com"])
def test_login_by_email_or_username_in_any_case(user_factory, client, login):
    user_factory()
    response = client.post("/accounts/login/", {"username": login, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").context["user"].username == "ada"


def test_login_keeps_a_safe_next_and_drops_an_unsafe_one(user_factory, client):
    user_factory()
    response = client.post(
        "/accounts/login/?next=/accounts/password/change/", {"username": "ada", "password": PASSWORD}
    )
    assert response["Location"] == "/accounts/password/change/"
    client.post("/accounts/logout/")
    response = client.post("/accounts/login/?next=https://evil.example/", {"username": "ada", "password": PASSWORD})
    assert response["Location"] == "/"


def test_login_with_a_wrong_password(user_factory, client):
    user_factory()
    response = client.post("/accounts/login/", {"username": "ada", "password": "wrong"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "do not match an account" in body
    assert 'value="ada"' in body and "wrong" not in body.split("<main>")[1]


def test_unconfirmed_login_is_refused_with_a_resend_button(user_factory, client):
    user_factory(confirmed=False)
    response = client.post("/accounts/login/", {"username": "ada", "password": PASSWORD})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Please confirm your email address first" in body
    assert f'action="{reverse("accounts:confirm-resend")}"' in body
    assert 'name="email" value="ada@example.com"' in body
    assert not client.get("/").context["user"].is_authenticated


def test_inactive_account_cannot_log_in(user_factory, client):
    user_factory(is_active=False)
    response = client.post("/accounts/login/", {"username": "ada", "password": PASSWORD})
    assert response.status_code == 200
    assert not client.get("/").context["user"].is_authenticated


# ------------------------------------------------------------------------------------------------
# Password reset pages
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("email", ["nope", "a\x00@example.com", "x" * 300 + "@example.com"])
def test_password_reset_bad_address_is_a_field_error(client, email):
    response = client.post("/accounts/password/reset/", {"email": email})
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert not OutboundEmail.objects.exists()


def test_bad_password_reset_link_gets_a_400_page(user_factory, client):
    user = user_factory()
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(user.pk))
    for path in (f"/accounts/password/reset/{uid}/bad-token/", "/accounts/password/reset/xx/bad-token/"):
        response = client.get(path)
        assert response.status_code == 400
        body = response.content.decode()
        assert "This link does not work" in body
        assert f'href="{reverse("accounts:password-reset")}"' in body


def test_password_change_errors_are_field_errors(user_factory, client):
    user = user_factory()
    client.force_login(user)
    response = client.post(
        "/accounts/password/change/",
        {"old_password": "wrong", "new_password1": "a new long phrase", "new_password2": "a new long phrase"},
    )
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
    response = client.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": "a new long phrase", "new_password2": "another phrase"},
    )
    assert "new_password2" in response.context["form"].errors
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert not OutboundEmail.objects.exists()


def test_email_change_errors_are_field_errors_and_change_nothing(user_factory, client):
    user = user_factory()
    user_factory(email="taken@example.com", username="grace")
    client.force_login(user)
    for data, field in [
        ({"email": "ADA@example.com", "password": PASSWORD}, "email"),
        ({"email": "not an email", "password": PASSWORD}, "email"),
        ({"email": "grâce@example.com", "password": PASSWORD}, "email"),
        ({"email": "grace@xn--zz.com", "password": PASSWORD}, "email"),
        ({"email": "new@example.com", "password": "wrong"}, "password"),
        ({"email": "n\x00@example.com", "password": PASSWORD}, "email"),
    ]:
        response = client.post("/accounts/email/change/", data)
        assert response.status_code == 200
        assert field in response.context["form"].errors
    user.refresh_from_db()
    assert user.email == "ada@example.com"
    assert not OutboundEmail.objects.exists()
