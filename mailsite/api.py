"""The JSON API, version 1: every flow of the pages under /api/v1/, with its OpenAPI 3.1 document
at /api/v1/openapi.json and a documentation page at /api/v1/docs (assets served from our own
static files). A breaking change gets /api/v2/.

django-ninja generates the schema from the type hints the endpoints are written with, so the
document cannot drift from the code; schemathesis then checks the live API against it, following
the OpenAPI links below from one operation to the next as a client would (its stateful phase)."""

from django.conf import settings

from accounts.api import account, auth, mfa, passkeys
from accounts.api.clients import client_auth
from accounts.api.problems import ProblemAPI, problem_response
from notifications import api as notifications_api
from notifications.dev import api as mailbox_api
from notifications.follows.limits import FollowLimited

PREFIX = "/api/v1"
CLIENT = {"client": "$request.path.client"}
# What log-in answers an app client with, for the requests that follow it.
NEW_SESSION = {**CLIENT, "header.X-Session-Token": "$response.body#/session_token"}


def _link(source, status, target, parameters=None, body=None):
    """An OpenAPI link from the `status` answer of `source` ("METHOD /path" under /api/v1) to
    `target`, with runtime expressions for the target's parameters and request body."""
    return {"source": source, "status": status, "target": target, "parameters": parameters or {}, "body": body}


# Where a client goes next with what an answer gave it. The apps do not know each other's
# operations; the project, which assembles them, does.
LINKS = [
    # Sign up, then confirm the address (by code, or ask for another mail), then log in.
    _link("POST /{client}/auth/signup", 202, "POST /{client}/auth/email/verify/code", NEW_SESSION),
    _link(
        "POST /{client}/auth/signup",
        202,
        "POST /{client}/auth/email/verify/resend",
        CLIENT,
        {"email": "$request.body#/email"},
    ),
    _link(
        "POST /{client}/auth/signup",
        202,
        "POST /{client}/auth/login",
        CLIENT,
        {"login": "$request.body#/username", "password": "$request.body#/password"},
    ),
    _link("POST /{client}/auth/signup", 200, "GET /{client}/auth/session", NEW_SESSION),
    # Ask for a code, then use it.
    _link(
        "POST /{client}/auth/code/request",
        202,
        "POST /{client}/auth/code/login",
        CLIENT,
        {"email": "$request.body#/email"},
    ),
    _link(
        "POST /{client}/auth/password/request",
        202,
        "POST /{client}/auth/password/reset/code",
        CLIENT,
        {"email": "$request.body#/email"},
    ),
    # A log-in that waits for its second factor, then the factors (re-authenticating to change them).
    _link("POST /{client}/auth/login", 200, "POST /{client}/auth/2fa", NEW_SESSION),
    _link("POST /{client}/auth/code/login", 200, "POST /{client}/auth/2fa", NEW_SESSION),
    _link("POST /{client}/auth/2fa", 200, "GET /{client}/account/authenticators", NEW_SESSION),
    _link("POST /{client}/auth/login", 200, "POST /{client}/auth/reauthenticate", NEW_SESSION),
    _link(
        "POST /{client}/auth/reauthenticate",
        200,
        "POST /{client}/account/authenticators/totp/setup",
        {**CLIENT, "header.X-Session-Token": "$request.header.X-Session-Token"},
    ),
    _link(
        "POST /{client}/account/authenticators/totp/setup",
        200,
        "POST /{client}/account/authenticators/totp",
        {**CLIENT, "header.X-Session-Token": "$request.header.X-Session-Token"},
    ),
    # Log in, then look at the session, the sessions list (and end one), and one's own profile.
    _link("POST /{client}/auth/login", 200, "GET /{client}/auth/session", NEW_SESSION),
    _link("POST /{client}/auth/login", 200, "GET /{client}/account/sessions", NEW_SESSION),
    _link(
        "POST /{client}/auth/login",
        200,
        "GET /{client}/users/{username}",
        {**NEW_SESSION, "username": "$response.body#/user/username"},
    ),
    _link(
        "POST /{client}/auth/login",
        200,
        "GET /users/{username}/followers",
        {"username": "$response.body#/user/username"},
    ),
    _link(
        "GET /{client}/account/sessions",
        200,
        "DELETE /{client}/account/sessions/{session_id}",
        {**CLIENT, "session_id": "$response.body#/0/id", "header.X-Session-Token": "$request.header.X-Session-Token"},
    ),
    _link("POST /{client}/account/email/change", 202, "POST /{client}/account/email/change/confirm", CLIENT),
    # A profile, its lists, and following back someone from a list; then unfollowing.
    _link(
        "GET /{client}/users/{username}",
        200,
        "GET /users/{username}/followers",
        {"username": "$response.body#/username"},
    ),
    _link(
        "GET /{client}/users/{username}",
        200,
        "GET /users/{username}/following",
        {"username": "$response.body#/username"},
    ),
    _link("GET /users/{username}", 200, "GET /users/{username}/followers", {"username": "$response.body#/username"}),
    _link("GET /users/{username}", 200, "GET /users/{username}/following", {"username": "$response.body#/username"}),
    _link(
        "GET /users/{username}/followers",
        200,
        "POST /{client}/users/{username}/follow",
        {"client": "app", "username": "$response.body#/results/0/username"},
    ),
    _link(
        "POST /{client}/users/{username}/follow",
        200,
        "DELETE /{client}/users/{username}/follow",
        {**CLIENT, "username": "$request.path.username"},
    ),
    _link(
        "POST /{client}/users/{username}/follow",
        200,
        "GET /{client}/users/{username}",
        {**CLIENT, "username": "$request.path.username"},
    ),
    _link(
        "DELETE /{client}/users/{username}/follow",
        200,
        "POST /{client}/users/{username}/follow",
        {**CLIENT, "username": "$request.path.username"},
    ),
    # Passkeys: each ceremony's begin, then its finish with the same session; the account's list.
    _link("POST /{client}/auth/passkey/login/begin", 200, "POST /{client}/auth/passkey/login/finish", NEW_SESSION),
    _link("POST /{client}/auth/passkey/signup/begin", 200, "POST /{client}/auth/passkey/signup/finish", NEW_SESSION),
    _link("POST /{client}/auth/passkey/login/finish", 200, "GET /{client}/account/passkeys", NEW_SESSION),
    _link("POST /{client}/auth/login", 200, "GET /{client}/account/passkeys", NEW_SESSION),
    _link("POST /{client}/auth/login", 200, "POST /{client}/account/passkeys/begin", NEW_SESSION),
    # The second-factor step's begin takes no token parameter (the waiting log-in is the session).
    _link("POST /{client}/auth/2fa/passkey/begin", 200, "POST /{client}/auth/2fa/passkey", CLIENT),
    _link(
        "POST /{client}/auth/reauthenticate/passkey/begin",
        200,
        "POST /{client}/auth/reauthenticate/passkey",
        {**CLIENT, "header.X-Session-Token": "$request.header.X-Session-Token"},
    ),
    _link(
        "POST /{client}/account/passkeys/begin",
        200,
        "POST /{client}/account/passkeys",
        {**CLIENT, "header.X-Session-Token": "$request.header.X-Session-Token"},
    ),
    _link(
        "POST /{client}/account/passkeys",
        201,
        "PATCH /{client}/account/passkeys/{passkey_id}",
        {**CLIENT, "passkey_id": "$response.body#/id", "header.X-Session-Token": "$request.header.X-Session-Token"},
    ),
    _link(
        "GET /{client}/account/passkeys",
        200,
        "PATCH /{client}/account/passkeys/{passkey_id}",
        {**CLIENT, "passkey_id": "$response.body#/0/id", "header.X-Session-Token": "$request.header.X-Session-Token"},
    ),
    _link(
        "GET /{client}/account/passkeys",
        200,
        "DELETE /{client}/account/passkeys/{passkey_id}",
        {**CLIENT, "passkey_id": "$response.body#/0/id", "header.X-Session-Token": "$request.header.X-Session-Token"},
    ),
    # Settings, and the unsubscribe page's button.
    _link("PUT /{client}/notifications/settings", 200, "GET /{client}/notifications/settings", CLIENT),
    _link(
        "GET /notifications/unsubscribe",
        200,
        "POST /notifications/unsubscribe",
        None,
        {"token": "$request.query.token"},
    ),
]


class MailsiteAPI(ProblemAPI):
    def get_openapi_schema(self, *args, **kwargs):
        schema = super().get_openapi_schema(*args, **kwargs)
        if not settings.DEBUG:  # the dev mailbox's operations exist only while DEBUG is on
            for path in [p for p in schema["paths"] if p.startswith(PREFIX + mailbox_api.PATH_PREFIX)]:
                del schema["paths"][path]
        operations = {
            f"{method.upper()} {path.removeprefix(PREFIX)}": operation
            for path, methods in schema["paths"].items()
            for method, operation in methods.items()
        }
        for link in LINKS:
            source, target = operations[link["source"]], operations[link["target"]]  # KeyError: a stale link
            definition = {"operationId": target["operationId"], "parameters": link["parameters"]}
            if link["body"] is not None:
                definition["requestBody"] = link["body"]
            name = target["operationId"].rsplit("_api_", 1)[-1]
            links = source["responses"][link["status"]].setdefault("links", {})
            links[name] = definition
        return schema


api = MailsiteAPI(
    title="mailsite API",
    version="1",
    description=(
        "Sign-up, log-in, passkeys, codes, confirmation, passwords, email change, sessions, follows and "
        "notification settings, for single-page and mobile front ends.\n\n"
        "Two kinds of client: **browser** paths (`/api/v1/browser/...`) use the session cookie and "
        "need the `csrftoken` cookie's value in `X-CSRFToken` on every unsafe method; **app** paths "
        "(`/api/v1/app/...`) use the `X-Session-Token` header that log-in answers with, and no "
        "cookies. Errors are RFC 9457 problem details (`application/problem+json`)."
    ),
    urls_namespace="api-v1",
    openapi_url="/openapi.json",
    docs_url="/docs",
)
api.add_router("", account.router)
api.add_router("", auth.router)
api.add_router("", passkeys.router)
api.add_router("", mfa.router)
api.add_router("", notifications_api.public)
api.add_router("", notifications_api.member, auth=client_auth)
api.add_router("", mailbox_api.router)


@api.exception_handler(FollowLimited)
def follow_limited(request, exc):
    return problem_response(429, exc.message, code="rate_limited", retry_after=exc.retry_after)
