"""The JSON API, version 1: every flow of the pages under /api/v1/, with its OpenAPI 3.1 document
at /api/v1/openapi.json and a documentation page at /api/v1/docs (assets served from our own
static files). A breaking change gets /api/v2/.

django-ninja generates the schema from the type hints the endpoints are written with, so the
document cannot drift from the code; schemathesis then checks the live API against it."""

from accounts.api import account, auth
from accounts.api.clients import client_auth
from accounts.api.problems import ProblemAPI, problem_response
from notifications import api as notifications_api
from notifications.follows.limits import FollowLimited

api = ProblemAPI(
    title="mailsite API",
    version="1",
    description=(
        "Sign-up, log-in, codes, confirmation, passwords, email change, sessions, follows and "
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
api.add_router("", notifications_api.public)
api.add_router("", notifications_api.member, auth=client_auth)


@api.exception_handler(FollowLimited)
def follow_limited(request, exc):
    return problem_response(429, exc.message, code="rate_limited", retry_after=exc.retry_after)
