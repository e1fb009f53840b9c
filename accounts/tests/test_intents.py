"""Requests that could tell taken addresses from free ones (sign-up, reset, a new confirmation
link, codes for sign-up and for log-in) do the same work for both: the request writes one intent
row and nothing that depends on the address; the worker then does the right thing for each."""

import pytest
from django.contrib.auth import get_user_model

from accounts.intents import intent_process, intents_sweep
from accounts.models import EmailCaptcha, Intent
from notifications.models import OutboundEmail

from .support import PASSWORD

TAKEN = "ada@example.com"
FREE = "nobody@example.com"


@pytest.fixture(autouse=True)
def intents_inline(settings):
    settings.ACCOUNTS_INTENTS_INLINE = False  # the request only records; the worker's half is run below


@pytest.fixture
def accounts(user_factory, postgres):
    return {
        "confirmed": user_factory(TAKEN),
        "unconfirmed": user_factory("grace@example.com", confirmed=False),
    }


def signup(client, email):
    data = {"email": email, "username": f"u{abs(hash(email)) % 10**8}", "password1": PASSWORD, "password2": PASSWORD}
    return client.post("/accounts/signup/", data)


# Each endpoint: (name, how to post, a taken address for it). The free address is FREE.
ENDPOINTS = [
    ("signup", signup, TAKEN),
    ("reset", lambda client, email: client.post("/accounts/password/reset/", {"email": email}), TAKEN),
    ("resend", lambda client, email: client.post("/accounts/confirm/resend/", {"email": email}), "grace@example.com"),
    (
        "code-signup",
        lambda client, email: client.post(
            "/accounts/code/?purpose=signup",
            {"email": email},
            content_type="application/json",
            headers={"Accept": "application/json"},
        ),
        TAKEN,
    ),
    ("code-login", lambda client, email: client.post("/accounts/login/code/", {"email": email}), TAKEN),
]


def shape(response, email):
    """Everything the client receives, with the address taken out, and what differs between any
    two requests: each cookie's value (a new random session key), the request id and the clock."""
    cookies = {
        name: sorted((key, value) for key, value in morsel.items() if value and key != "expires")
        for name, morsel in response.cookies.items()
    }
    headers = sorted(
        (key, value.replace(email, "ADDRESS"))
        for key, value in response.headers.items()
        if key not in ("X-Request-ID", "Expires")
    )
    return response.status_code, headers, cookies, response.content.replace(email.encode(), b"ADDRESS")


@pytest.mark.parametrize("name, post, taken", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_request_records_an_intent_and_answers_alike(name, post, taken, accounts, postgres, redis_cache, client):
    from django.test import Client

    users_before = get_user_model().objects.count()
    answers = []
    for email in (taken, FREE):
        answers.append(shape(post(Client(), email), email))
        intent = Intent.objects.get(email=email)  # one row, in its own transaction
        assert intent.kind == name.partition("-")[0]
    assert answers[0] == answers[1]
    assert answers[0][0] in (202, 302)
    # Nothing the answer could differ on was done in the request: no account, no mail, no audit row.
    assert get_user_model().objects.count() == users_before
    assert not OutboundEmail.objects.exists()
    assert not EmailCaptcha.objects.exists()


def test_signup_intent_holds_a_hash_not_the_password(postgres, redis_cache, client):
    signup(client, FREE)
    data = Intent.objects.get().data
    assert PASSWORD not in str(data)
    assert data["password_hash"].startswith("md5$")  # the test run's hasher; the project's is Argon2


def process_all():
    for intent_id in Intent.objects.values_list("pk", flat=True):
        assert intent_process(intent_id=intent_id)
    assert not Intent.objects.exists()  # carried out and gone, the sign-up's password hash with it


def templates_to(email):
    return [row.template for row in OutboundEmail.objects.filter(recipients=email).order_by("pk")]


def test_worker_creates_a_new_account_and_tells_an_existing_owner(accounts, postgres, redis_cache, client):
    signup(client, FREE)
    signup(client, TAKEN)
    process_all()
    user = get_user_model().objects.get(email=FREE)
    assert user.email_confirmed_at is None
    assert user.check_password(PASSWORD)  # the hash made in the request
    assert templates_to(FREE) == ["confirm"]
    assert templates_to(TAKEN) == ["signup_existing"]
    assert get_user_model().objects.filter(email=TAKEN).count() == 1


def test_browser_that_signed_up_keeps_its_password_at_confirmation(postgres, redis_cache, client):
    from accounts.flows.email_verification import SIGNUP_PROOFS_SESSION_KEY, confirm_needs_password

    signup(client, FREE)
    process_all()
    user = get_user_model().objects.get(email=FREE)
    # The proof made in the request, from the hash, matches the account the worker created.
    assert not confirm_needs_password(user=user, proofs=client.session[SIGNUP_PROOFS_SESSION_KEY])


def test_worker_mails_reset_and_resend_only_where_an_account_can_use_them(accounts, postgres, redis_cache):
    from django.test import Client

    for email in (TAKEN, FREE):
        Client().post("/accounts/password/reset/", {"email": email})
    for email in ("grace@example.com", TAKEN, FREE):  # unconfirmed, confirmed, none
        Client().post("/accounts/confirm/resend/", {"email": email})
    process_all()
    assert templates_to(TAKEN) == ["password_reset"]
    assert templates_to("grace@example.com") == ["confirm"]
    assert templates_to(FREE) == []


def test_worker_mails_codes_by_purpose(accounts, postgres, redis_cache, no_limits):
    from django.test import Client

    for email in (TAKEN, FREE):
        Client().post("/accounts/code/?purpose=signup", {"email": email})
        Client().post("/accounts/login/code/", {"email": email})
    process_all()
    assert templates_to(FREE) == ["code"]  # a sign-up code; no log-in code without an account
    assert templates_to(TAKEN) == ["signup_existing", "code"]  # the owner's notice, then a log-in code
    outcomes = dict(EmailCaptcha.objects.filter(email=TAKEN).values_list("purpose", "outcome"))
    assert outcomes == {"signup": "withheld", "login": "pending"}


def test_sweeper_leaves_fresh_intents_to_their_task_and_drops_stale_ones(postgres, redis_cache, client):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.conf import settings

    signup(client, FREE)
    now = timezone.now()
    assert intents_sweep(now=now) == 0  # its task may still be on its way
    assert intents_sweep(now=now + timedelta(seconds=settings.ACCOUNTS_INTENT_SWEEP_AFTER)) == 1
    assert get_user_model().objects.filter(email=FREE).exists()

    signup(client, "late@example.com")
    assert intents_sweep(now=now + timedelta(seconds=settings.ACCOUNTS_INTENT_MAX_AGE + 60)) == 0
    assert not Intent.objects.exists()
    assert not get_user_model().objects.filter(email="late@example.com").exists()


@pytest.mark.parametrize("bad", ["1", 1.5, True, None, [1]])
def test_intent_task_refuses_anything_but_an_integer_id(db, bad):
    from accounts import tasks

    before = Intent.objects.count()
    with pytest.raises(ValueError, match="Intent id"):
        tasks.intent_process(bad)
    assert Intent.objects.count() == before


def test_a_username_taken_before_the_worker_creates_the_account_is_told_by_mail(postgres, redis_cache, client):
    """The request said "check your inbox"; the inbox then says why no account came, and how to
    try again, instead of nothing."""
    data = {"email": FREE, "username": "grace", "password1": PASSWORD, "password2": PASSWORD}
    assert client.post("/accounts/signup/", data).status_code == 302
    get_user_model().objects.create_user(username="grace", email="grace@example.com", password=PASSWORD)
    process_all()

    assert not get_user_model().objects.filter(email=FREE).exists()
    assert templates_to(FREE) == ["signup_username_taken"]
    notice = OutboundEmail.objects.get(recipients=FREE)
    assert notice.category == "urgent"
    assert '"grace"' in notice.payload["body"] and "/accounts/signup/" in notice.payload["body"]
