"""Both kinds of API client, as a front end drives them, and its user reading their mail: codes and
links come out of the messages the loopback SMTP server received (the `smtp_inbox` fixture)."""

import json
import re
from urllib.parse import urlsplit

from django.test import Client

from .support import links_in

BASE = "/api/v1"


class ApiClient:
    """`kind` "app": sends X-Session-Token once log-in (or a flow) issued one, and no cookies.
    `kind` "browser": the session cookie, with the csrftoken cookie's value in X-CSRFToken."""

    def __init__(self, kind):
        self.kind = kind
        self.http = Client(enforce_csrf_checks=True)
        self.token = None
        if kind == "browser":
            self.call("get", "/auth/session")

    def headers(self):
        if self.kind == "app":
            return {"X-Session-Token": self.token} if self.token else {}
        cookie = self.http.cookies.get("csrftoken")
        return {"X-CSRFToken": cookie.value} if cookie else {}

    def call(self, method, path, body=None, *, client_path=True):
        url = f"{BASE}/{self.kind}{path}" if client_path else f"{BASE}{path}"
        if self.kind == "app":
            self.http.cookies.clear()  # an app client has no cookie jar
        kwargs = {"content_type": "application/json", "headers": self.headers()}
        if body is not None:
            kwargs["data"] = json.dumps(body)
        response = getattr(self.http, method)(url, **kwargs)
        if "json" in response.get("Content-Type", "") and response.content:
            response.body = response.json()
            token = response.body.get("session_token") if isinstance(response.body, dict) else None
            if token:
                self.token = token
        else:
            response.body = None
        return response

    def post(self, path, body=None, **kwargs):
        return self.call("post", path, body or {}, **kwargs)

    def get(self, path, **kwargs):
        return self.call("get", path, **kwargs)


def code_in(inbox, address):
    """The code in the latest mail to `address`, read as a person would: the line that is only
    digits, in the text the SMTP server received, and the same code in its HTML."""
    message = inbox.last_to(address)
    found = [line.strip() for line in message.body.splitlines() if re.fullmatch(r"\s*\d{4,12}\s*", line)]
    assert len(found) == 1, message.body
    assert message.html is None or found[0] in message.html
    return found[0]


def link_key(inbox, address, prefix):
    """The last path segment(s) of the one link to `prefix` in the latest mail to `address`, as the
    SMTP server received it; the HTML body links to the same place."""
    message = inbox.last_to(address)
    (link,) = set(links_in(message.body, prefix))
    assert message.html is None or set(links_in(message.html, prefix)) == {link}
    return urlsplit(link).path[len(prefix) :].strip("/")
