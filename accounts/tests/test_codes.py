"""Emailed codes, service level: the email, expiry, single use, replacement, tries, the daily lock,
and that the code is never kept or logged in clear. Real Redis and PostgreSQL; mail through the
outbox, read back out of the delivered message."""

import json
import logging
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from accounts.flows.code_verification import CodeError, CodeLimited, code_consume, code_send
from accounts.models import EmailCaptcha
from notifications.models import OutboundEmail

from .code_helpers import MORNING, code_from, other_code  # noqa: F401

pytestmark = pytest.mark.usefixtures("redis_cache")
Outcome = EmailCaptcha.Outcome


@pytest.mark.usefixtures("no_limits")
def test_code_email_shows_the_code_alone_on_a_line_and_in_the_html(db, outbox):
    sent = code_send(email="  New.Person@Example.com ", purpose="signup", ip="203.0.113.5")
    assert sent.expires_in == 600
    row = OutboundEmail.objects.get()
    assert row.category == "urgent" and row.sensitive and row.template == "code"
    message = outbox.last_to("new.person@example.com")
    code = code_from(outbox, "new.person@example.com")
    assert len(code) == 6
    # The code leads the subject, so a new code never threads under an old one; the stored
    # subject, which the admin shows, keeps it redacted.
    assert message.subject == f"{code} is your mailsite verification code"
    assert OutboundEmail.objects.get().subject == "[redacted] is your mailsite verification code"
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and f">{code}</span>" in html
    captcha = EmailCaptcha.objects.get()
    assert (captcha.email, captcha.purpose, captcha.outcome, captcha.ip) == (
        "new.person@example.com",
        "signup",
        Outcome.PENDING,
        "203.0.113.5",
    )
    assert captcha.expires_at - captcha.created_at == timedelta(seconds=600)


@pytest.mark.usefixtures("no_limits")
def test_code_length_follows_the_setting(db, outbox, settings):
    settings.ACCOUNTS_CODE_LENGTH = 8
    code_send(email="eight@example.com", purpose="signup")
    code = code_from(outbox, "eight@example.com")
    assert len(code) == 8
    with pytest.raises(ValidationError):
        code_consume(email="eight@example.com", purpose="signup", code=code[:6])
    assert code_consume(email="eight@example.com", purpose="signup", code=code) is None


@pytest.mark.usefixtures("no_limits")
def test_a_code_works_once(db, outbox):
    code_send(email="once@example.com", purpose="signup")
    code = code_from(outbox, "once@example.com")
    assert code_consume(email="ONCE@example.com", purpose="signup", code=code, ip="198.51.100.1") is None
    captcha = EmailCaptcha.objects.get()
    assert captcha.outcome == Outcome.USED and captcha.used_at is not None
    with pytest.raises(CodeError) as error:
        code_consume(email="once@example.com", purpose="signup", code=code)
    assert "wrong or has expired" in error.value.messages[0]


@pytest.mark.usefixtures("no_limits")
def test_typed_code_tolerates_spaces_dashes_and_full_width_digits(db, outbox):
    code_send(email="typed@example.com", purpose="signup")
    code = code_from(outbox, "typed@example.com")
    full_width = "".join(chr(ord(ch) - ord("0") + ord("０")) for ch in code)
    assert (
        code_consume(email="typed@example.com", purpose="signup", code=f" {full_width[:3]}-{full_width[3:]} ") is None
    )


@pytest.mark.usefixtures("no_limits")
def test_a_code_is_for_its_purpose_only(user_factory, db, outbox):
    user_factory("both@example.com")
    code_send(email="both@example.com", purpose="login")
    code = code_from(outbox, "both@example.com")
    with pytest.raises(CodeError):
        code_consume(email="both@example.com", purpose="signup", code=code)
    assert code_consume(email="both@example.com", purpose="login", code=code) is None


@pytest.mark.usefixtures("no_limits")
def test_a_code_expires(db, outbox):
    with time_machine.travel(MORNING, tick=False) as traveller:
        code_send(email="late@example.com", purpose="signup")
        code = code_from(outbox, "late@example.com")
        traveller.shift(600)
        with pytest.raises(CodeError) as error:
            code_consume(email="late@example.com", purpose="signup", code=code)
        assert "expired" in error.value.messages[0]
    assert EmailCaptcha.objects.get().outcome == Outcome.EXPIRED


@pytest.mark.usefixtures("no_limits")
def test_a_code_works_until_just_before_it_expires(db, outbox):
    with time_machine.travel(MORNING, tick=False) as traveller:
        code_send(email="intime@example.com", purpose="signup")
        code = code_from(outbox, "intime@example.com")
        traveller.shift(599)
        assert code_consume(email="intime@example.com", purpose="signup", code=code) is None


@pytest.mark.usefixtures("no_limits")
def test_asking_again_replaces_the_code(db, outbox):
    code_send(email="again@example.com", purpose="signup")
    first = code_from(outbox, "again@example.com")
    code_send(email="again@example.com", purpose="signup")
    second = code_from(outbox, "again@example.com")
    old, new = EmailCaptcha.objects.order_by("id")
    assert old.outcome == Outcome.REPLACED and new.outcome == Outcome.PENDING
    if first != second:  # one chance in a million that the new code is the same digits
        with pytest.raises(CodeError):
            code_consume(email="again@example.com", purpose="signup", code=first)
    assert code_consume(email="again@example.com", purpose="signup", code=second) is None


@pytest.mark.usefixtures("no_limits")
def test_too_many_wrong_tries_kill_the_code(db, outbox):
    code_send(email="guess@example.com", purpose="signup")
    code = code_from(outbox, "guess@example.com")
    messages = []
    for _ in range(5):
        with pytest.raises(CodeError) as error:
            code_consume(email="guess@example.com", purpose="signup", code=other_code(code))
        messages.append(error.value.messages[0])
    assert all("wrong or has expired" in text for text in messages[:4])
    assert "last try" in messages[4]
    with pytest.raises(CodeError) as error:
        code_consume(email="guess@example.com", purpose="signup", code=code)
    assert "Ask for a new code" in error.value.messages[0]
    captcha = EmailCaptcha.objects.get()
    assert captcha.outcome == Outcome.EXHAUSTED and captcha.attempts == 5
    # A new code starts with fresh tries.
    code_send(email="guess@example.com", purpose="signup")
    assert (
        code_consume(email="guess@example.com", purpose="signup", code=code_from(outbox, "guess@example.com")) is None
    )


@pytest.mark.usefixtures("no_limits")
def test_daily_failures_survive_new_codes_and_lock_until_the_day_is_over(db, outbox):
    address = "locked@example.com"
    with time_machine.travel(MORNING, tick=False) as traveller:
        for _ in range(3):  # 15 wrong codes over three codes
            code_send(email=address, purpose="signup")
            code = code_from(outbox, address)
            for _ in range(5):
                with pytest.raises(CodeError):
                    code_consume(email=address, purpose="signup", code=other_code(code))
        code_send(email=address, purpose="signup")
        code = code_from(outbox, address)
        for _ in range(4):  # 19
            with pytest.raises(CodeError):
                code_consume(email=address, purpose="signup", code=other_code(code))
        code_send(email=address, purpose="signup")  # a new code does not reset the count
        code = code_from(outbox, address)
        with pytest.raises(CodeLimited) as error:  # the 20th wrong code
            code_consume(email=address, purpose="signup", code=other_code(code))
        assert error.value.code == "locked" and "until the day is over" in error.value.messages[0]
        assert EmailCaptcha.objects.order_by("-id").first().outcome == Outcome.LOCKED
        with pytest.raises(CodeLimited):  # even the right code now
            code_consume(email=address, purpose="signup", code=code)
        with pytest.raises(CodeLimited) as error:  # and no new code today, for any purpose
            code_send(email=address, purpose="signup")
        assert error.value.retry_after == 15 * 3600 - 5 + 1
        assert EmailCaptcha.objects.order_by("-id").first().outcome == Outcome.LOCKED
        sent_before = len(outbox.deliver())

        traveller.move_to(MORNING.replace(hour=0, minute=0, second=1) + timedelta(days=1))
        code_send(email=address, purpose="signup")
        assert len(outbox.deliver()) == sent_before + 1
        assert code_consume(email=address, purpose="signup", code=code_from(outbox, address)) is None


@pytest.mark.usefixtures("no_limits")
def test_a_right_code_does_not_count_as_a_failure(db, outbox, settings):
    settings.ACCOUNTS_CODE_MAX_FAILURES = 2
    for _ in range(3):
        code_send(email="good@example.com", purpose="signup")
        assert (
            code_consume(email="good@example.com", purpose="signup", code=code_from(outbox, "good@example.com")) is None
        )


@pytest.mark.usefixtures("no_limits")
def test_log_in_codes_go_only_to_active_confirmed_accounts(user_factory, db, outbox):
    user_factory("ok@example.com")
    user_factory("unconfirmed@example.com", confirmed=False)
    user_factory("gone@example.com", active=False)
    for address in ("ok@example.com", "unconfirmed@example.com", "gone@example.com", "nobody@example.com"):
        code_send(email=address, purpose="login")
    delivered = outbox.deliver()
    assert [m.to for m in delivered] == [["ok@example.com"]]
    outcomes = dict(EmailCaptcha.objects.values_list("email", "outcome"))
    assert outcomes == {
        "ok@example.com": Outcome.PENDING,
        "unconfirmed@example.com": Outcome.WITHHELD,
        "gone@example.com": Outcome.WITHHELD,
        "nobody@example.com": Outcome.WITHHELD,
    }


@pytest.mark.usefixtures("no_limits")
def test_no_sign_up_code_for_an_address_that_has_an_account(user_factory, db, outbox):
    user_factory("taken@example.com")
    code_send(email="taken@example.com", purpose="signup")
    assert EmailCaptcha.objects.get().outcome == Outcome.WITHHELD
    for message in outbox.messages_to("taken@example.com"):  # at most a "you have an account" note
        assert "code" not in message.body.lower() or "no code was sent" in message.body.lower()
        assert not [line for line in message.body.splitlines() if line.strip().isdigit()]


@pytest.mark.usefixtures("no_limits")
def test_wrong_code_for_an_unknown_address_looks_like_any_wrong_code(user_factory, db, outbox):
    user_factory("known@example.com")
    code_send(email="known@example.com", purpose="login")
    code = code_from(outbox, "known@example.com")
    answers = {}
    for address in ("known@example.com", "unknown@example.com"):
        seen = []
        for _ in range(6):
            with pytest.raises(CodeError) as error:
                code_consume(email=address, purpose="login", code=other_code(code))
            seen.append((type(error.value).__name__, error.value.code, error.value.messages))
        answers[address] = seen
    assert answers["known@example.com"] == answers["unknown@example.com"]


@pytest.mark.parametrize(
    ("email", "code", "message"),
    [
        ("not an address", "123456", "valid email"),
        ("", "123456", "Enter your email"),
        ("a@example.com", "12345", "6-digit code"),
        ("a@example.com", "12345a", "6-digit code"),
        ("a@example.com", None, "6-digit code"),
        ("x" * 250 + "@example.com", "123456", "at most 254 characters"),
    ],
)
def test_malformed_input_is_a_validation_error(db, email, code, message):
    with pytest.raises(ValidationError) as error:
        code_consume(email=email, purpose="signup", code=code)
    assert message in error.value.messages[0]


def test_unknown_purpose_is_refused(db):
    with pytest.raises(CodeError):
        code_send(email="a@example.com", purpose="admin")


def test_the_code_is_never_kept_or_logged_in_clear(user_factory, db, outbox, redis_client, caplog, client):
    caplog.set_level(logging.DEBUG)
    user_factory("secret@example.com")
    response = client.post(
        "/accounts/code/",
        json.dumps({"email": "secret@example.com", "purpose": "login"}),
        content_type="application/json",
        headers={"accept": "application/json"},
    )
    assert response.status_code == 202
    row = OutboundEmail.objects.get()
    code = code_from(outbox, "secret@example.com")  # delivered: the row is redacted now
    with pytest.raises(CodeError):
        code_consume(email="secret@example.com", purpose="login", code=other_code(code))
    stored_while_live = _everything_stored(redis_client)
    response = client.post("/accounts/login/code/confirm/", {"email": "secret@example.com", "code": code})
    assert response.status_code == 302
    stored = stored_while_live + _everything_stored(redis_client)
    assert any(b"code:" in blob for blob in stored), "the scan saw the code keys"
    assert not [blob for blob in stored if code.encode() in blob]
    for captcha in EmailCaptcha.objects.values():
        assert code not in json.dumps(captcha, default=str)
    row.refresh_from_db()
    assert row.redacted and "[redacted]" in json.dumps(row.payload)
    assert code not in json.dumps(row.payload) + row.payload_encrypted + row.subject
    assert code not in caplog.text
    assert "code_send" in caplog.text  # the logs were captured at all


@pytest.mark.usefixtures("no_limits")
def test_the_queued_email_holds_the_code_only_encrypted(db):
    code_send(email="queued@example.com", purpose="signup")
    row = OutboundEmail.objects.get()
    assert row.payload == {} and row.payload_encrypted
    from notifications.outbox import crypto

    payload = json.loads(crypto.decrypt(row.payload_encrypted))
    codes = [line for line in payload["body"].splitlines() if line.strip().isdigit()]
    assert payload["redact"] == codes


def _everything_stored(redis_client):
    blobs = []
    for key in redis_client.scan_iter("*"):
        kind = redis_client.type(key)
        if kind == b"string":
            value = redis_client.get(key)
        elif kind == b"zset":
            value = b"".join(member for member, _score in redis_client.zrange(key, 0, -1, withscores=True))
        else:
            value = repr(redis_client.dump(key)).encode()
        blobs.append(key + b"=" + (value or b""))
    return blobs
