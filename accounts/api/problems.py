"""Errors as RFC 9457 problem details (application/problem+json), with field errors.

Every error the API gives, its own or ninja's (validation, authentication, 404), leaves as one
shape: {"type", "title", "status", "detail", "code", "errors": [{"field", "message", "code"}]},
and a 429 or 503 also says "retry_after" and sends the Retry-After header. `ProblemAPI` puts the
same shape into the OpenAPI document for every error status an operation can answer.
"""

import json
import logging
from http import HTTPStatus

from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from ..errors import AccountsError, RateLimitUnavailable
from ..ratelimit import unreachable_errors

logger = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
ERROR_STATUSES = (400, 401, 403, 404, 405, 429, 503)
UNAVAILABLE_RETRY_AFTER = 30


class FieldError(Schema):
    field: str | None = None
    message: str
    code: str


class Problem(Schema):
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldError] = []
    retry_after: int | None = None
    methods: list[str] | None = None  # a 401 reauthentication_required: the ways to re-authenticate


class ApiProblem(AccountsError):
    def __init__(self, status, detail, *, code, errors=(), retry_after=None, methods=None):
        super().__init__(detail)
        self.status, self.detail, self.code = status, str(detail), code
        self.errors, self.retry_after, self.methods = list(errors), retry_after, methods


def problem_response(status, detail, *, code, errors=(), retry_after=None, methods=None):
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": str(detail),
        "code": code,
        "errors": list(errors),
    }
    if retry_after is not None:
        body["retry_after"] = int(retry_after)
    if methods is not None:
        body["methods"] = list(methods)
    response = HttpResponse(json.dumps(body), status=status, content_type=MEDIA_TYPE)
    if retry_after is not None:
        response["Retry-After"] = str(int(retry_after))
    response["Cache-Control"] = "no-store"
    return response


def form_errors(form):
    """A Django form's errors as problem field errors (None for errors of the whole form)."""
    return [
        {
            "field": None if field == "__all__" else field,
            "message": error["message"],
            "code": error["code"] or "invalid",
        }
        for field, errors in form.errors.get_json_data().items()
        for error in errors
    ]


def invalid(form, detail=None):
    return ApiProblem(400, detail or _("Some fields need fixing."), code="invalid", errors=form_errors(form))


def field_problem(field, message, code, *, status=400):
    return ApiProblem(status, message, code=code, errors=[{"field": field, "message": str(message), "code": code}])


def limited(retry_after, message=None):
    message = message or _("Too many attempts. Please try again in %(seconds)d seconds.") % {"seconds": retry_after}
    return ApiProblem(429, message, code="rate_limited", retry_after=retry_after)


def _validation_errors(errors):
    found = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "payload")]
        found.append(
            {"field": ".".join(location) or None, "message": error.get("msg", ""), "code": error.get("type", "invalid")}
        )
    return found


class ProblemAPI(NinjaAPI):
    """NinjaAPI whose errors are problem details, in the responses and in the OpenAPI document."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_exception_handler(ApiProblem, self._problem)
        self.add_exception_handler(ValidationError, self._validation)
        self.add_exception_handler(AuthenticationError, self._unauthenticated)
        self.add_exception_handler(HttpError, self._http_error)
        self.add_exception_handler(Http404, self._not_found)
        self.add_exception_handler(RateLimitUnavailable, self._unavailable)
        for error in unreachable_errors():
            self.add_exception_handler(error, self._unavailable)

    def _problem(self, request, exc):
        return problem_response(
            exc.status, exc.detail, code=exc.code, errors=exc.errors, retry_after=exc.retry_after, methods=exc.methods
        )

    def _validation(self, request, exc):
        errors = _validation_errors(exc.errors)
        return problem_response(400, _("Some fields need fixing."), code="invalid", errors=errors)

    def _unauthenticated(self, request, exc):
        return problem_response(401, _("Log in first."), code="not_authenticated")

    def _http_error(self, request, exc):
        code = {400: "invalid", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "error"
        )
        return problem_response(exc.status_code, exc.message, code=code)

    def _not_found(self, request, exc):
        return problem_response(404, _("Not found."), code="not_found")

    def _unavailable(self, request, exc):
        logger.error("503 for %s %s: %s", request.method, request.path, exc)
        message = _("The service is briefly unavailable. Please try again in a moment.")
        return problem_response(503, message, code="unavailable", retry_after=UNAVAILABLE_RETRY_AFTER)

    def get_openapi_schema(self, *args, **kwargs):
        schema = super().get_openapi_schema(*args, **kwargs)
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schemas["Problem"].pop("$defs", {}))
        for path in schema["paths"].values():
            for operation in path.values():
                for status in ERROR_STATUSES:
                    operation["responses"][str(status)] = _problem_response_doc(status)
        return schema


def _problem_response_doc(status):
    doc = {
        "description": HTTPStatus(status).phrase,
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status in (429, 503):
        doc["headers"] = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}}}
    return doc
