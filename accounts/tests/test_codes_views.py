"""Emailed codes through the pages and the JSON endpoint, as a browser or a script uses them."""

import json
import re

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import Client

from accounts.conf import settings as app_settings
from accounts.models import EmailCaptcha

from .code_helpers import MORNING, code_from, other_code  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_cache")]
JSON = {"accept": "application/json"}


def post_json(client, url, data, **extra):
    return client.post(url, json.dumps(data), content_type="application/json", headers={**JSON, **extra})


def flashed(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


# ------------------------------------------------------------------------------------------------
# POST /accounts/code/ as JSON
# ------------------------------------------------------------------------------------------------
def test_json_send_answers_202_with_expiry_and_retry_after(client, outbox):
    with time_machine.travel(MORNING, tick=False):
        response = post_json(client, "/accounts/code/", {"email": "json@example.com"})
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"sent", "expires_in", "retry_after"}
    assert body["sent"] is True and body["expires_in"] == 600
    assert body["retry_after"] == 60  # a sliding minute: the next code is due 60 s after this one
    assert code_from(outbox, "json@example.com")
    assert EmailCaptcha.objects.get().purpose == "signup"


def test_json_send_accepts_a_form_body_too(client, outbox):
    response = client.post("/accounts/code/", {"email": "formbody@example.com", "purpose": "signup"}, headers=JSON)
    assert response.status_code == 202
    assert code_from(outbox, "formbody@example.com")


@pytest.mark.parametrize(
    "payload",
    [{"email": "not-an-address"}, {"email": ""}, {}, {"email": ["a@example.com"]}, {"email": "a@example.com\x00"}],
)
def test_json_malformed_address_is_400_with_the_field_error(client, payload):
    response = post_json(client, "/accounts/code/", payload)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["email"] and errors["email"][0]["message"]
    assert not EmailCaptcha.objects.exists()


def test_json_unknown_purpose_is_400(client):
    response = post_json(client, "/accounts/code/", {"email": "a@example.com", "purpose": "root"})
    assert response.status_code == 400 and "purpose" in response.json()["errors"]


@pytest.mark.parametrize("body", [b"[1, 2]", b"{not json", b'"text"', b"\xff\xfe"])
def test_json_body_that_is_not_an_object_is_400(client, body):
    response = client.post("/accounts/code/", body, content_type="application/json", headers=JSON)
    assert response.status_code == 400 and "errors" in response.json()


def test_json_over_the_limit_is_429_with_retry_after(client, outbox):
    with time_machine.travel(MORNING, tick=False):
        assert post_json(client, "/accounts/code/", {"email": "fast@example.com"}).status_code == 202
        response = post_json(client, "/accounts/code/", {"email": "FAST@example.com"})
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert response.json()["retry_after"] == 60
    assert EmailCaptcha.objects.count() == 1
    assert len(outbox.messages_to("fast@example.com")) == 1


def test_json_needs_the_csrf_token(outbox):
    client = Client(enforce_csrf_checks=True)
    response = post_json(client, "/accounts/code/", {"email": "csrf@example.com"})
    assert response.status_code == 403
    assert not EmailCaptcha.objects.exists()


# ------------------------------------------------------------------------------------------------
# POST /accounts/code/ as a plain form
# ------------------------------------------------------------------------------------------------
def test_form_send_redirects_back_with_a_message_and_the_address(client, outbox):
    response = client.post("/accounts/code/?purpose=signup&next=/accounts/signup/", {"email": "Form@Example.com"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/signup/?email=form%40example.com"
    assert "We emailed a code to form@example.com" in flashed(response)[0]
    assert code_from(outbox, "form@example.com")


def test_form_send_goes_back_to_a_safe_referer_and_never_off_site(client, outbox):
    response = client.post(
        "/accounts/code/", {"email": "ref@example.com"}, headers={"referer": "/accounts/signup/?x=1"}
    )
    assert response["Location"] == "/accounts/signup/?x=1&email=ref%40example.com"
    for n, evil in enumerate(("https://evil.example/", "//evil.example/", "javascript:alert(1)")):
        response = client.post("/accounts/code/", {"email": f"evil{n}@example.com", "next": evil})
        assert response["Location"] == f"/accounts/signup/?email=evil{n}%40example.com"


def test_form_malformed_address_is_the_page_again_with_the_error(client):
    response = client.post("/accounts/code/?next=/accounts/signup/", {"email": "nope"})
    assert response.status_code == 200
    assert b"Enter a valid email address." in response.content
    assert b'name="next" value="/accounts/signup/"' in response.content


def test_form_over_the_limit_is_a_429_page(client, outbox):
    client.post("/accounts/code/", {"email": "twice@example.com"})
    response = client.post("/accounts/code/", {"email": "twice@example.com"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert b"Too many requests" in response.content


def test_get_shows_a_page_to_ask_for_a_code(client):
    response = client.get("/accounts/code/?purpose=login&email=a@example.com")
    assert response.status_code == 200
    assert b'value="a@example.com"' in response.content and b"purpose=login" in response.content


# ------------------------------------------------------------------------------------------------
# No enumeration
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("purpose", ["login", "signup"])
def test_send_answers_the_same_for_known_and_unknown_addresses(user_factory, client, outbox, purpose):
    user_factory("member@example.com")
    user_factory("pending@example.com", confirmed=False)
    answers = {}
    with time_machine.travel(MORNING, tick=False):
        for address in ("member@example.com", "pending@example.com", "stranger@example.com"):
            json_response = post_json(client, "/accounts/code/", {"email": address, "purpose": purpose})
            answers[address] = (
                json_response.status_code,
                json_response.json(),
                json_response.headers.get("Retry-After"),
            )
        limited = {}
        for address in ("member@example.com", "pending@example.com", "stranger@example.com"):
            response = post_json(client, "/accounts/code/", {"email": address, "purpose": purpose})
            limited[address] = (response.status_code, response.json(), response["Retry-After"])
    assert len({json.dumps(answer, sort_keys=True) for answer in answers.values()}) == 1
    assert answers["stranger@example.com"][0] == 202
    assert len({json.dumps(answer, sort_keys=True) for answer in limited.values()}) == 1
    assert limited["stranger@example.com"][0] == 429


@pytest.mark.parametrize("purpose", ["login", "signup"])
def test_form_send_answers_the_same_for_known_and_unknown_addresses(user_factory, client, outbox, purpose):
    user_factory("member2@example.com")
    seen = set()
    for address in ("member2@example.com", "stranger2@example.com"):
        client = Client()
        response = client.post(f"/accounts/code/?purpose={purpose}&next=/accounts/", {"email": address})
        seen.add((response.status_code, response["Location"].replace(address.replace("@", "%40"), "ADDR")))
        seen.add(tuple(text.replace(address, "ADDR") for text in flashed(response)))
    assert len(seen) == 2, seen


def test_login_code_page_answers_the_same_for_known_and_unknown_addresses(user_factory, client, outbox):
    user_factory("known3@example.com")
    pages = []
    for address in ("known3@example.com", "unknown3@example.com"):
        response = client.post("/accounts/login/code/", {"email": address}, follow=True)
        pages.append(
            (
                response.redirect_chain,
                re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode()).replace(
                    address, "ADDR"
                ),
            )
        )
    assert pages[0] == pages[1]
    assert len(outbox.deliver()) == 1


# ------------------------------------------------------------------------------------------------
# Log in by code
# ------------------------------------------------------------------------------------------------
def test_log_in_with_an_emailed_code(user_factory, client, outbox):
    user = user_factory("login@example.com")
    page = client.get("/accounts/login/code/")
    assert page.status_code == 200 and b'name="email"' in page.content
    response = client.post("/accounts/login/code/", {"email": "Login@Example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/code/confirm/"
    confirm = client.get(response["Location"])
    assert b'value="login@example.com"' in confirm.content
    assert b'autocomplete="one-time-code"' in confirm.content
    code = code_from(outbox, "login@example.com")
    response = client.post("/accounts/login/code/confirm/", {"email": "login@example.com", "code": code})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert EmailCaptcha.objects.get().outcome == "used"
    client.post("/accounts/logout/")
    again = client.post("/accounts/login/code/confirm/", {"email": "login@example.com", "code": code})
    assert again.status_code == 200 and "_auth_user_id" not in client.session


def test_log_in_by_code_keeps_a_safe_next(user_factory, client, outbox):
    user_factory("next@example.com")
    response = client.post("/accounts/login/code/?next=/accounts/password/change/", {"email": "next@example.com"})
    assert response["Location"] == "/accounts/login/code/confirm/?next=%2Faccounts%2Fpassword%2Fchange%2F"
    code = code_from(outbox, "next@example.com")
    response = client.post(
        "/accounts/login/code/confirm/?next=https://evil.example/", {"email": "next@example.com", "code": code}
    )
    assert response["Location"] == "/"


def test_wrong_code_shows_the_error_next_to_the_field(user_factory, client, outbox):
    user_factory("wrong@example.com")
    client.post("/accounts/login/code/", {"email": "wrong@example.com"})
    code = code_from(outbox, "wrong@example.com")
    response = client.post("/accounts/login/code/confirm/", {"email": "wrong@example.com", "code": other_code(code)})
    assert response.status_code == 200  # a form page with errors, as sign-up's wrong code
    assert b"That code is wrong or has expired" in response.content
    assert b'value="wrong@example.com"' in response.content  # what was typed stays
    assert "_auth_user_id" not in client.session
    response = client.post("/accounts/login/code/confirm/", {"email": "wrong@example.com", "code": "12"})
    assert response.status_code == 200 and b"6-digit code" in response.content


def test_no_log_in_for_an_account_deactivated_after_the_code_was_sent(user_factory, client, outbox):
    user = user_factory("banned@example.com")
    client.post("/accounts/login/code/", {"email": "banned@example.com"})
    code = code_from(outbox, "banned@example.com")
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    response = client.post("/accounts/login/code/confirm/", {"email": "banned@example.com", "code": code})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_log_in_by_code_answers_json_callers_with_the_field_errors(user_factory, client, outbox):
    response = client.post("/accounts/login/code/", {"email": "not-an-address"}, headers=JSON)
    assert response.status_code == 400 and list(response.json()["errors"]) == ["email"]
    user_factory("jsonlogin@example.com")
    client.post("/accounts/login/code/", {"email": "jsonlogin@example.com"})
    code = code_from(outbox, "jsonlogin@example.com")
    data = {"email": "jsonlogin@example.com", "code": other_code(code)}
    response = client.post("/accounts/login/code/confirm/", data, headers=JSON)
    assert response.status_code == 400
    assert response.json()["errors"]["code"][0]["code"] == "invalid"
    assert "_auth_user_id" not in client.session


def test_a_deactivated_account_and_a_wrong_code_get_the_same_json_answer(user_factory, client, outbox):
    answers = []
    for address, deactivate in (("wrongcode@example.com", False), ("gone@example.com", True)):
        user = user_factory(address)
        client.post("/accounts/login/code/", {"email": address})
        code = code_from(outbox, address)
        if deactivate:
            get_user_model().objects.filter(pk=user.pk).update(is_active=False)
        else:
            code = other_code(code)
        response = client.post("/accounts/login/code/confirm/", {"email": address, "code": code}, headers=JSON)
        answers.append((response.status_code, response.json()))
    assert answers[0] == answers[1]
    assert answers[0][0] == 400 and answers[0][1]["errors"]["code"][0]["code"] == "invalid"


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/code/",
        "/accounts/login/code/",
        "/accounts/login/code/confirm/",
        "/accounts/confirm/code/",
        "/accounts/password/reset/code/",
    ],
)
def test_code_pages_answer_other_methods_with_405(client, path):
    for method in (client.put, client.delete, client.head, client.options):
        response = method(path)
        assert response.status_code == 405 and response["Allow"] == "GET, POST"


def test_checking_codes_too_fast_is_429(client, settings, outbox):
    settings.ACCOUNTS_RATE_LIMITS = {**app_settings.ACCOUNTS_RATE_LIMITS, "code_verify": "3/m/key"}
    with time_machine.travel(MORNING, tick=False):
        statuses = [
            client.post("/accounts/login/code/confirm/", {"email": "slow@example.com", "code": "000000"}).status_code
            for _ in range(4)
        ]
    assert statuses == [200, 200, 200, 429]


def test_locked_address_says_so_on_the_page(client, settings):
    settings.ACCOUNTS_RATE_LIMITS_ENABLED = False
    settings.ACCOUNTS_CODE_MAX_FAILURES = 3
    for _ in range(3):
        response = client.post("/accounts/login/code/confirm/", {"email": "lock@example.com", "code": "000000"})
    assert response.status_code == 429
    assert b"until the day is over" in response.content
    assert int(response["Retry-After"]) > 0


# ------------------------------------------------------------------------------------------------
# The sign-up page's Send code button
# ------------------------------------------------------------------------------------------------
def test_signup_page_has_a_send_code_button_that_works_without_javascript(client):
    page = client.get("/accounts/signup/").content.decode()
    button = re.search(r"<button[^>]*data-send-code[^>]*>", page, re.S).group(0)
    assert 'formaction="/accounts/code/?purpose=signup&amp;next=/accounts/signup/"' in button
    assert "formnovalidate" in button
    assert "accounts/send-code.js" in page
    # The first submit button in the form (the one Enter presses) still signs up.
    form = page[page.index('id="signup-form"') :]
    first = re.search(r"<button[^>]*>", form).group(0)
    assert "formaction" not in first


def test_sign_up_with_a_code_asked_for_without_javascript(client, outbox):
    fields = {
        "email": "Newcomer@Example.com",
        "username": "newcomer",
        "password1": "correct horse battery 9",
        "password2": "correct horse battery 9",
        "code": "",
    }
    response = client.post("/accounts/code/?purpose=signup&next=/accounts/signup/", fields)
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert b'value="newcomer@example.com"' in page.content  # the address is kept
    assert b"We emailed a code to newcomer@example.com" in page.content
    code = code_from(outbox, "newcomer@example.com")
    response = client.post("/accounts/signup/", {**fields, "code": code})
    assert response.status_code == 302
    user = get_user_model().objects.get(email="newcomer@example.com")
    assert user.email_confirmed_at is not None
    assert EmailCaptcha.objects.get().outcome == "used"


# ------------------------------------------------------------------------------------------------
# Admin
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def admin_client_(client):
    get_user_model().objects.create_superuser(username="root", email="root@example.com", password="x")
    client.login(username="root", password="x")
    return client


@pytest.mark.usefixtures("no_limits")
def test_admin_is_read_only_and_shows_who_is_asking(admin_client_, outbox):
    client = admin_client_
    for n in range(3):
        client.post("/accounts/code/", {"email": "target@example.com"}, REMOTE_ADDR="192.0.2.66")
    client.post("/accounts/code/", {"email": "other@example.com"}, REMOTE_ADDR="192.0.2.7")
    code = code_from(outbox, "target@example.com")
    client.post("/accounts/login/code/confirm/", {"email": "target@example.com", "code": other_code(code)})
    row = EmailCaptcha.objects.filter(email="target@example.com").first()

    listing = client.get("/admin/accounts/emailcaptcha/?purpose__exact=signup&outcome__exact=replaced")
    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 2
    assert b"/admin/accounts/emailcaptcha/activity/" in listing.content
    found = client.get("/admin/accounts/emailcaptcha/?q=other@")
    assert found.context["cl"].result_count == 1
    assert client.get("/admin/accounts/emailcaptcha/?q=192.0.2.66").context["cl"].result_count == 3
    detail = client.get(f"/admin/accounts/emailcaptcha/{row.pk}/change/")
    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    assert code.encode() not in detail.content
    assert client.get("/admin/accounts/emailcaptcha/add/").status_code == 403
    assert client.get(f"/admin/accounts/emailcaptcha/{row.pk}/delete/").status_code == 403
    assert client.post(f"/admin/accounts/emailcaptcha/{row.pk}/change/", {"outcome": "used"}).status_code == 403

    activity = client.get("/admin/accounts/emailcaptcha/activity/")
    assert activity.status_code == 200
    top_email = activity.context["by_email"][0]
    assert (top_email["email"], top_email["requests"]) == ("target@example.com", 3)
    top_ip = activity.context["by_ip"][0]
    assert (top_ip["ip"], top_ip["requests"], top_ip["others"]) == ("192.0.2.66", 3, 1)
    sends_by_email, sends_by_ip, checks_by_email, _checks_by_ip = activity.context["hit_lists"]
    assert sends_by_email[0] == ("target@example.com", 3)
    assert ("192.0.2.66", 3) in sends_by_ip
    assert checks_by_email == [("target@example.com", 1)]
    assert client.get("/admin/accounts/emailcaptcha/activity/?hours=junk").status_code == 200


def test_admin_activity_needs_permission(client):
    get_user_model().objects.create_user(username="staff", email="s@example.com", password="x", is_staff=True)
    client.login(username="staff", password="x")
    assert client.get("/admin/accounts/emailcaptcha/activity/").status_code == 403


def test_password_log_in_page_offers_log_in_by_code(client):
    page = client.get("/accounts/login/?next=/accounts/password/change/")
    assert b'href="/accounts/login/code/?next=/accounts/password/change/"' in page.content
