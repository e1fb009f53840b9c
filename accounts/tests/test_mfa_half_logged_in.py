"""A log-in that waits for its second factor opens nothing: every URL of the URL conf that refuses
an anonymous visitor (a redirect to a log-in page, or a 401/403) refuses the half-logged-in
browser and app client the same way, by GET and by POST."""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.flows import mfa

from .mfa_helpers import login_password, totp_set_up

pytestmark = pytest.mark.django_db

SAMPLES = {"int": "1", "str": "x", "slug": "x", "path": "x", "uuid": "00000000-0000-0000-0000-000000000000"}


def _route_paths(pattern):
    text = str(pattern.pattern)
    if hasattr(pattern.pattern, "_route"):
        if "<client>" in text or "<str:client>" in text:
            texts = [text.replace("<client>", kind).replace("<str:client>", kind) for kind in ("browser", "app")]
        else:
            texts = [text]
        return [re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: SAMPLES.get(m[1] or "str", "x"), t) for t in texts]
    text = text.lstrip("^").rstrip("$").replace("\\Z", "")
    text = re.sub(r"\(\?P<app_label>[^)]*\)", "accounts", text)
    text = re.sub(r"\(\?P<\w+>[^)]*\)", "1", text)
    return [] if re.search(r"[()\[\]*+?|\\]", text) else [text]


def all_paths(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        for part in _route_paths(entry):
            if isinstance(entry, URLResolver):
                yield from all_paths(entry, prefix + part)
            elif isinstance(entry, URLPattern):
                yield "/" + (prefix + part).lstrip("/")


def _refused(response):
    if response.status_code in (401, 403):
        return True
    return response.status_code == 302 and "/login/" in response["Location"]


def _outcome(response):
    return response.status_code, response.get("Location")


def test_a_half_logged_in_client_reaches_no_page_or_endpoint_that_needs_a_log_in(user_factory, no_limits):
    ada = user_factory("ada")
    totp_set_up(ada)
    browser = Client()
    assert login_password(browser, ada)["Location"] == "/accounts/login/second-factor/"
    app = Client()
    answer = app.post(
        "/api/v1/app/auth/login",
        {"login": ada.email, "password": "correct horse battery staple"},
        content_type="application/json",
    ).json()
    assert answer["authenticated"] is False and answer["pending"] == ["second_factor"]
    app_headers = {"X-Session-Token": answer["session_token"]}

    paths = sorted(set(all_paths()))
    assert len(paths) > 60, paths
    refused = []
    for path in paths:
        if path == "/accounts/login/second-factor/":  # the one page for a log-in that waits
            continue
        for method in ("get", "post"):
            anonymous = getattr(Client(), method)(path)
            if not _refused(anonymous):
                continue
            refused.append((method, path))
            half = getattr(browser, method)(path)
            assert _outcome(half) == _outcome(anonymous), (method, path, half.status_code)
            if path.startswith("/api/v1/app/"):
                half_app = getattr(app, method)(path, headers=app_headers, content_type="application/json")
                assert _outcome(half_app)[0] == anonymous.status_code, (method, path, half_app.status_code)
    checked = {path for _method, path in refused}
    for must in ("/accounts/settings/", "/accounts/security/", "/admin/", "/api/v1/app/account/sessions"):
        assert must in checked, must
    assert len(refused) > 30
    # Still waiting (and so still tested as half-logged-in) after every request.
    assert browser.session.get(mfa.PENDING_KEY)
    after = app.get("/api/v1/app/auth/session", headers=app_headers).json()
    assert after["pending"] == ["second_factor"] and after["authenticated"] is False
