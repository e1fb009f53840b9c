"""An authenticator app as a second factor: set-up from the page, the log-in step, single use,
clock drift, a race, limits, and what ends a log-in that waits for its second factor."""

import threading
import time

import pytest
from django.db import connection
from django.test import Client

from accounts.crypto import secret_decrypt
from accounts.flows import mfa, totp
from accounts.models import Authenticator, TotpStepUsed

from .mfa_helpers import code_at, fresh_code, is_logged_in, login_password, page_secret, totp_set_up, used_code

pytestmark = pytest.mark.django_db


def test_set_up_from_the_page_stores_the_secret_encrypted_and_never_shows_it_again(user_factory, outbox):
    ada = user_factory("ada")
    client, secret, codes = totp_set_up(ada)
    row = Authenticator.objects.get(user=ada, kind=Authenticator.Kind.TOTP)
    assert secret not in str(row.data)
    assert secret_decrypt(row.data["secret"]) == secret
    assert len(codes) == 10 and len(set(codes)) == 10
    assert secret not in client.get("/accounts/security/").content.decode()
    # The set-up page now sends the person back: there is one app, and its key is not shown again.
    again = client.get("/accounts/security/totp/")
    assert again.status_code == 302 and secret not in again.content.decode()
    notice = outbox.last_to("ada@example.com")
    assert "authenticator app was added" in notice.body and "/accounts/security/" in notice.body


def test_set_up_refuses_a_wrong_code_and_stores_nothing(user_factory):
    ada = user_factory("ada")
    client = Client()
    login_password(client, ada)
    secret = page_secret(client.get("/accounts/security/totp/"))
    wrong = f"{(int(code_at(secret)) + 1) % 1000000:06d}"
    response = client.post("/accounts/security/totp/", {"code": wrong})
    assert response.status_code == 200
    assert "not right" in response.content.decode()
    assert not Authenticator.objects.filter(user=ada).exists()


def test_password_log_in_stops_at_the_second_factor_until_a_right_code(user_factory):
    ada = user_factory("ada")
    _client, secret, _codes = totp_set_up(ada)
    client = Client()
    response = login_password(client, ada, next="/accounts/settings/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/second-factor/"
    assert not is_logged_in(client)
    step_page = client.get("/accounts/login/second-factor/")
    assert step_page.status_code == 200 and b"authenticator app" in step_page.content
    # The set-up's code was already used: refused.
    refused = client.post("/accounts/login/second-factor/", {"code": used_code(ada, secret)})
    assert refused.status_code == 200 and not is_logged_in(client)
    fresh = fresh_code(ada, secret)
    done = client.post("/accounts/login/second-factor/", {"code": fresh})
    assert done.status_code == 302 and done["Location"] == "/accounts/settings/"
    assert is_logged_in(client)


def test_a_code_replayed_in_its_window_is_refused(user_factory):
    ada = user_factory("ada")
    _client, secret, _codes = totp_set_up(ada)
    code = fresh_code(ada, secret)
    first = Client()
    login_password(first, ada)
    assert first.post("/accounts/login/second-factor/", {"code": code}).status_code == 302
    second = Client()
    login_password(second, ada)
    replay = second.post("/accounts/login/second-factor/", {"code": code})
    assert replay.status_code == 200 and b"already used" in replay.content
    assert not is_logged_in(second)


@pytest.mark.parametrize(("offset", "accepted"), [(-2, False), (-1, True), (0, True), (1, True), (2, False)])
def test_clock_drift_of_one_step_is_accepted_and_two_refused(user_factory, offset, accepted):
    ada = user_factory("ada")
    secret = totp.totp_secret_new()
    row = Authenticator.objects.create(user=ada, kind="totp", data={"secret": totp.secret_encrypt(secret)})
    now = 1_900_000_015.0  # mid-step, so "now" cannot cross a boundary while the test runs
    code = code_at(secret, offset, now=now)
    assert totp.totp_verify(user=ada, code=code, now=now) is accepted
    assert TotpStepUsed.objects.filter(authenticator=row).count() == (1 if accepted else 0)


@pytest.mark.django_db(transaction=True)
def test_two_parallel_submissions_of_one_code_exactly_one_wins(user_factory):
    ada = user_factory("ada")
    secret = totp.totp_secret_new()
    Authenticator.objects.create(user=ada, kind="totp", data={"secret": totp.secret_encrypt(secret)})
    now = 1_900_000_015.0
    code = code_at(secret, now=now)
    results, barrier = [], threading.Barrier(4)

    def submit():
        try:
            barrier.wait()
            results.append(totp.totp_verify(user=ada, code=code, now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    assert TotpStepUsed.objects.count() == 1


def test_wrong_codes_are_limited_per_account_with_retry_after(user_factory):
    ada = user_factory("ada")
    _client, secret, _codes = totp_set_up(ada)
    client = Client()
    login_password(client, ada)
    wrong = f"{(int(code_at(secret)) + 500000) % 1000000:06d}"
    statuses = [client.post("/accounts/login/second-factor/", {"code": wrong}).status_code for _ in range(4)]
    assert statuses == [200] * 4  # the set-up's code counted once: 5 a minute per account
    limited = client.post("/accounts/login/second-factor/", {"code": fresh_code(ada, secret)})
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert not is_logged_in(client)


def test_a_stranger_cannot_spend_the_owners_attempts(user_factory):
    """The account's bucket is reached only after its password: posting codes without one never
    counts against it, so the owner still logs in."""
    ada = user_factory("ada")
    _client, secret, _codes = totp_set_up(ada)
    stranger = Client()
    for _ in range(20):
        response = stranger.post("/accounts/login/second-factor/", {"code": "000000"})
        assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    owner = Client()
    login_password(owner, ada)
    assert owner.post("/accounts/login/second-factor/", {"code": fresh_code(ada, secret)}).status_code == 302
    assert is_logged_in(owner)


def _waiting(user_factory):
    """ada, her app's secret, and a client whose log-in waits for the second factor."""
    ada = user_factory("ada")
    _client, secret, _codes = totp_set_up(ada)
    client = Client()
    login_password(client, ada)
    return ada, secret, client


def test_the_waiting_log_in_expires_after_five_minutes(user_factory):
    ada, secret, client = _waiting(user_factory)
    session = client.session
    session[mfa.PENDING_KEY] = {**session[mfa.PENDING_KEY], "at": time.time() - 301}
    session.save()
    response = client.post("/accounts/login/second-factor/", {"code": fresh_code(ada, secret)})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert not is_logged_in(client)


def test_a_password_reset_ends_the_waiting_log_in(user_factory):
    ada, secret, client = _waiting(user_factory)
    ada.set_password("a brand new passphrase 42")
    ada.save()
    response = client.post("/accounts/login/second-factor/", {"code": fresh_code(ada, secret)})
    assert response["Location"] == "/accounts/login/" and not is_logged_in(client)


def test_a_factor_removed_elsewhere_ends_the_waiting_log_in(user_factory):
    ada, secret, client = _waiting(user_factory)
    totp.totp_remove(user=ada)
    response = client.post("/accounts/login/second-factor/", {"code": fresh_code(ada, secret)})
    assert response["Location"] == "/accounts/login/" and not is_logged_in(client)


def test_a_new_log_in_ends_the_waiting_one(user_factory):
    ada, secret, client = _waiting(user_factory)
    bob = user_factory("bob")
    assert login_password(client, bob).status_code == 302
    assert mfa.PENDING_KEY not in client.session
    assert client.get("/accounts/settings/").context["user"] == bob


def test_emailed_code_log_in_stops_at_the_second_factor(user_factory, smtp_inbox):
    from .api_helpers import code_in

    ada, secret, _client = _waiting(user_factory)
    smtp_inbox.deliver()  # the notice of the new factor, before the code
    client = Client()
    client.post("/accounts/login/code/", {"email": ada.email})
    code = code_in(smtp_inbox, ada.email)
    response = client.post("/accounts/login/code/confirm/", {"email": ada.email, "code": code})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/second-factor/"
    assert not is_logged_in(client)
    assert client.post("/accounts/login/second-factor/", {"code": fresh_code(ada, secret)}).status_code == 302
    assert is_logged_in(client)


@pytest.mark.parametrize("code", ["12345", "1234567", "12\x0034", "x" * 65, "", "１２３４５６"])
def test_bad_codes_are_a_field_error(user_factory, code):
    _ada, _secret, client = _waiting(user_factory)
    response = client.post("/accounts/login/second-factor/", {"code": code})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not is_logged_in(client)
