"""Property: no address, code or body, however malformed, makes a code endpoint answer 500.

The test client re-raises any exception a view lets escape, so an error shows up as a failure here
rather than as a 500 that might go unnoticed."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_cache", "no_limits")]

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ALLOWED = {200, 202, 302, 400, 429}

texts = st.one_of(
    st.text(max_size=300),
    st.emails(),
    st.text(alphabet="0123456789０１２３ -\x00\t\n", max_size=20),
    st.from_regex(r"[a-z0-9.+_-]{1,70}@[a-z0-9-]{1,70}(\.[a-z]{2,8}){1,3}", fullmatch=True),
)
json_values = st.one_of(
    texts,
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)
purposes = st.one_of(st.sampled_from(["signup", "login", ""]), st.text(max_size=20))


@PROPERTY
@given(email=texts, purpose=purposes)
def test_sending_never_errors(client, email, purpose):
    form = client.post(f"/accounts/code/?purpose={purpose}&next=/", {"email": email, "purpose": purpose})
    assert form.status_code in ALLOWED
    login = client.post("/accounts/login/code/", {"email": email})
    assert login.status_code in ALLOWED


@PROPERTY
@given(body=st.dictionaries(st.sampled_from(["email", "purpose", "next", "x"]), json_values, max_size=4))
def test_sending_json_never_errors(client, body):
    response = client.post(
        "/accounts/code/", json.dumps(body), content_type="application/json", headers={"accept": "application/json"}
    )
    assert response.status_code in ALLOWED
    assert response.json()


@PROPERTY
@given(raw=st.binary(max_size=200))
def test_any_json_body_bytes_never_error(client, raw):
    response = client.post(
        "/accounts/code/", raw, content_type="application/json", headers={"accept": "application/json"}
    )
    assert response.status_code in ALLOWED


@PROPERTY
@given(email=texts, code=texts)
def test_checking_never_errors(client, email, code):
    response = client.post("/accounts/login/code/confirm/", {"email": email, "code": code})
    assert response.status_code in ALLOWED
    signup = client.post(
        "/accounts/signup/",
        {
            "email": email,
            "username": "someone",
            "password1": "x y z w 1 2 3 4",
            "password2": "x y z w 1 2 3 4",
            "code": code,
        },
    )
    assert signup.status_code in ALLOWED


@PROPERTY
@given(email=texts, code=texts, purpose=purposes)
def test_the_services_raise_only_validation_errors(email, code, purpose):
    from django.core.exceptions import ValidationError

    from accounts.flows.code_verification import code_consume, code_send

    for call in (
        lambda: code_send(email=email, purpose=purpose, ip=code),
        lambda: code_consume(email=email, purpose=purpose, code=code, ip=email),
    ):
        try:
            call()
        except ValidationError as error:
            assert error.messages and all(error.messages)
