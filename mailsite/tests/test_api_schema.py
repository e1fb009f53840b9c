"""Schemathesis against the live API, from the API's own OpenAPI document: no 5xx, and every
answer (status, content type, headers, body) as the document says, for each operation alone and
along the document's links (the stateful phase, run by schemathesis' own command line). Rate limits
are lifted here; accounts/tests/test_api_limits.py proves them."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

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

from mailsite.api import LINKS
from notifications.models import Follow
from testing.users import PASSWORD

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "20"))  # per operation: about a minute on two cores
STATEFUL_EXAMPLES = int(os.environ.get("API_FUZZ_STATEFUL_EXAMPLES", "50"))  # scenarios: about 30 s
ST = Path(sys.executable).with_name("st")  # schemathesis' command line, beside this Python
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
    ada = user_factory("ada@example.com")
    bob = user_factory("bob@example.com")
    # Someone in each one's followers list, to follow back.
    Follow.objects.create(follower=bob, followed=ada)
    Follow.objects.create(follower=ada, followed=bob)
    response = requests.post(
        f"{live_server.url}/api/v1/app/auth/login", json={"login": "ada", "password": PASSWORD}, timeout=30
    )
    return response.json()["session_token"]


@pytest.fixture
def limits_lifted(settings):
    settings.ACCOUNTS_RATE_LIMITS_ENABLED = False
    settings.NOTIFICATIONS_FOLLOW_RATE_LIMIT = ""


def test_api_answers_as_its_schema_says(live_server, redis_cache, app_token, limits_lifted):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(base_url=live_server.url, headers={"X-Session-Token": app_token}, checks=CHECKS)

        check()


# Values schemathesis mixes into what it generates, so that its state machine gets past the
# log-in and the 404s of made-up names, and follows the links from a success: the people of the
# app_token fixture, their password for log-in, and mostly app paths (a browser path needs the CSRF
# cookie, which no schema can describe).
ST_CONFIG = """
[dictionaries]
people = {{ values = ["ada", "bob"] }}
addresses = {{ values = ["ada@example.com", "bob@example.com", "new@example.com"] }}
passwords = {{ values = [{password}] }}
clients = {{ values = ["app"] }}
newcomers = {{ values = ["newbie", "carol"] }}
no_code = {{ values = [""] }}

[parameters]
"path.client" = {{ dictionary = "clients", probability = 0.8 }}
"path.username" = {{ dictionary = "people", probability = 0.7 }}
"body.email" = {{ dictionary = "addresses", probability = 0.5 }}

[phases.stateful]
max-steps = 12

[[operations]]
include-path-regex = "/auth/login$"

[operations.parameters]
"body.login" = {{ dictionary = "people", probability = 0.7 }}
"body.password" = {{ dictionary = "passwords", probability = 0.7 }}

[[operations]]
include-path-regex = "/auth/signup$"

[operations.parameters]
"body.username" = {{ dictionary = "newcomers", probability = 0.7 }}
"body.password" = {{ dictionary = "passwords", probability = 0.7 }}
"body.code" = {{ dictionary = "no_code", probability = 0.7 }}

# The follows and settings as ada. Not on log-in, which would end this session (as it cycles a
# browser's): the other member operations get their session from the log-in they follow.
[[operations]]
include-path-regex = "/(users|notifications)/"

[operations.headers]
X-Session-Token = "{app_token}"
"""


def st_run(live_server, app_token, tmp_path, *options):
    """schemathesis' command line against the live server; returns (exit code, its output)."""
    config = tmp_path / "schemathesis.toml"
    config.write_text(ST_CONFIG.format(app_token=app_token, password=json.dumps(PASSWORD)))
    command = [
        str(ST),
        "--config-file",
        str(config),
        "run",
        f"{live_server.url}/api/v1/openapi.json",
        "--checks",
        ",".join(check.__name__ for check in CHECKS),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--no-color",
        "--output-sanitize",
        "false",
        "--report",
        "ndjson",
        "--report-dir",
        str(tmp_path),
        *options,
    ]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    (tmp_path / "st-output.txt").write_text(done.stdout + done.stderr)
    return done.returncode, done.stdout + done.stderr


def test_stateful_links_answer_as_the_schema_says(live_server, redis_cache, app_token, limits_lifted, tmp_path):
    """Sign up, then verify; log in, then list and end sessions; follow, then unfollow: the links
    in the document, followed by schemathesis' state machine with the checks above."""
    code, output = st_run(
        live_server, app_token, tmp_path, "--phases", "stateful", "--max-examples", str(STATEFUL_EXAMPLES)
    )
    assert code == 0, output
    assert "No issues found" in output, output
    # The links were followed, not only listed: log-in to the sessions list, codes to their use...
    # (Links schemathesis infers itself, e.g. from a 201's id to the resource's operations, are
    # selected too, and counted apart.)
    covered = re.search(r"API Links:\s+(\d+) covered / (\d+) selected / \d+ total(?: \((\d+) inferred\))?", output)
    assert covered and int(covered[1]) >= 5, output
    assert int(covered[2]) - int(covered[3] or 0) == len(LINKS), output


def test_the_document_links_the_flows(client):
    document = client.get("/api/v1/openapi.json").json()
    paths = document["paths"]
    ids = {operation["operationId"] for methods in paths.values() for operation in methods.values()}
    signup = paths["/api/v1/{client}/auth/signup"]["post"]["responses"]["202"]["links"]
    assert signup["auth_email_verify_code"]["parameters"]["client"] == "$request.path.client"
    follow = paths["/api/v1/{client}/users/{username}/follow"]["post"]["responses"]["200"]["links"]
    assert follow["unfollow"]["parameters"]["username"] == "$request.path.username"
    sessions = paths["/api/v1/{client}/account/sessions"]["get"]["responses"]["200"]["links"]
    assert sessions["account_session_delete_one"]["parameters"]["session_id"] == "$response.body#/0/id"
    targets = [
        link["operationId"]
        for methods in paths.values()
        for operation in methods.values()
        for response in operation["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert len(targets) == len(LINKS) and set(targets) <= ids


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
