"""Schemathesis against the live API, from the API's own OpenAPI document: no 5xx, and every
answer (status, content type, headers, body) as the document says. Rate limits are lifted here;
accounts/tests/test_api_limits.py proves them."""

import os

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from testing.users import PASSWORD

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "20"))  # per operation: about a minute on two cores
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def app_token(live_server, user_factory):
    """A logged-in app client, so the member endpoints are exercised past their log-in check."""
    user_factory("ada@example.com")
    user_factory("bob@example.com")
    response = requests.post(
        f"{live_server.url}/api/v1/app/auth/login", json={"login": "ada", "password": PASSWORD}, timeout=30
    )
    return response.json()["session_token"]


def test_api_answers_as_its_schema_says(live_server, redis_cache, app_token, settings):
    settings.ACCOUNTS_RATE_LIMITS_ENABLED = False
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(base_url=live_server.url, headers={"X-Session-Token": app_token}, checks=CHECKS)

        check()


def test_the_schema_is_openapi_3_1_and_the_docs_page_serves_its_own_assets(client):
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert {"/api/v1/{client}/auth/signup", "/api/v1/{client}/auth/code/login"} <= set(document["paths"])
    page = client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page and "cdn" not in page.lower()


def test_a_null_character_in_the_query_is_a_problem_too(client):
    """Found by schemathesis: the middleware that refuses NUL answered the API with HTML."""
    response = client.get("/api/v1/notifications/unsubscribe", {"token": "a\x00b"})
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "null_character"
